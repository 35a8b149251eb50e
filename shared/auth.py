"""Bearer tokens for moderators and operators.

Tokens are created by `python -m services.contributions tokens create --role operator --name NAME`,
which prints the token once; only its SHA-256 is stored, in `contributions.tokens` (owned by the
contributions service, readable by the harvester for the operator API). Operators may also moderate.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

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


async def create_token(conn: asyncpg.Connection, role: str, name: str) -> str:
    if role not in ROLES_ALLOWED:
        raise ValueError(f"unknown role {role!r}: moderator or operator")
    token = new_token()
    await conn.execute(
        "INSERT INTO contributions.tokens (token_hash, role, name) VALUES ($1, $2, $3)", token_hash(token), role, name
    )
    return token


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
        "SELECT token_hash, role, name FROM contributions.tokens WHERE token_hash = $1 AND revoked_at IS NULL", digest
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
