"""Bearer tokens for moderators and operators.

Tokens are created by `python -m services.contributions tokens create --role operator --name NAME
[--expires-in-days N]`, which prints the token once; only its SHA-256 is stored, in
`contributions.tokens` (owned by the contributions service; the harvester and the api check tokens
through the view `contributions_read.tokens`). `tokens list` shows them by the first 12 characters
of that hash, `tokens revoke ID` revokes one; a revoked or expired token is refused. Operators may
also moderate.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from aiohttp import web

ROLES_ALLOWED = {"moderator": ("moderator", "operator"), "operator": ("operator",)}


@dataclass(frozen=True)
class Principal:
    name: str
    role: str


def new_token() -> str:
    return "obs_" + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(conn: asyncpg.Connection, role: str, name: str, expires_at: datetime | None = None) -> str:
    if role not in ROLES_ALLOWED:
        raise ValueError(f"unknown role {role!r}: moderator or operator")
    token = new_token()
    await conn.execute(
        "INSERT INTO contributions.tokens (token_hash, role, name, expires_at) VALUES ($1, $2, $3, $4)",
        token_hash(token), role, name, expires_at,
    )  # fmt: skip
    return token


async def list_tokens(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Every token, by the first 12 characters of its hash (never the token, which is not stored)."""
    rows = await conn.fetch(
        """SELECT left(token_hash, 12) AS id, role, name, created_at, expires_at, revoked_at
           FROM contributions.tokens ORDER BY created_at, token_hash"""
    )
    return [dict(r) for r in rows]


async def revoke_token(conn: asyncpg.Connection, token_id: str) -> int:
    """Revoke the token whose hash starts with `token_id` (12 characters at least): how many were."""
    if len(token_id) < 12:
        raise ValueError("a token id has 12 characters (tokens list)")
    status = await conn.execute(
        "UPDATE contributions.tokens SET revoked_at = now() WHERE starts_with(token_hash, $1) AND revoked_at IS NULL",
        token_id,
    )
    return int(status.split()[-1])


async def optional_principal(conn: asyncpg.Connection, request: web.Request, needed: str) -> Principal | None:
    """The principal when the request carries a token (401 or 403 if it is not a valid one of that
    role), None when it carries none: pages that show more to operators than to the public."""
    if "Authorization" not in request.headers:
        return None
    return await authenticate(conn, request, needed)


async def authenticate(conn: asyncpg.Connection, request: web.Request, needed: str) -> Principal:
    """The principal behind the request's bearer token; 401 without a valid one, 403 with the wrong role."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise web.HTTPUnauthorized(
            text='{"error": {"status": 401, "message": "jeton d\'accès requis"}}',
            content_type="application/json",
            headers={"WWW-Authenticate": "Bearer"},
        )
    digest = token_hash(token.strip())
    row = await conn.fetchrow(
        """SELECT token_hash, role, name FROM contributions_read.tokens
           WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())""",
        digest,
    )
    if row is None or not hmac.compare_digest(row["token_hash"], digest):
        raise web.HTTPUnauthorized(
            text='{"error": {"status": 401, "message": "jeton d\'accès invalide"}}',
            content_type="application/json",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if row["role"] not in ROLES_ALLOWED[needed]:
        raise web.HTTPForbidden(
            text='{"error": {"status": 403, "message": "droits insuffisants"}}', content_type="application/json"
        )
    return Principal(name=row["name"], role=row["role"])
