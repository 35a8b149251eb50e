"""`python -m services.contributions` runs the contributions service.

python -m services.contributions tokens create --role moderator|operator --name NAME [--expires-in-days N]
    prints a new bearer token once (only its SHA-256 is stored); operators also use theirs for
    the sources and harvest-runs API.
python -m services.contributions tokens list
    every token by its id (the first 12 characters of its hash), role, name, expiry and revocation.
python -m services.contributions tokens revoke ID
    refuses that token from now on.
"""

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from services.contributions.app import create_routes, create_runtime
from shared.auth import create_token, list_tokens, revoke_token
from shared.db import create_pool
from shared.service import run
from shared.settings import Settings


async def with_connection(settings: Settings, work: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
    pool = await create_pool(settings, "contributions", max_size=1)
    try:
        async with pool.acquire() as conn:
            return await work(conn)
    finally:
        await pool.close()


def print_tokens(tokens: list[dict[str, Any]]) -> None:
    def day(value: datetime | None) -> str:
        return value.strftime("%Y-%m-%d %H:%M") if value else "-"

    print(f"{'id':<12}  {'role':<9}  {'created':<16}  {'expires':<16}  {'revoked':<16}  name")
    for t in tokens:
        print(f"{t['id']:<12}  {t['role']:<9}  {day(t['created_at']):<16}  {day(t['expires_at']):<16}  "
              f"{day(t['revoked_at']):<16}  {t['name']}")  # fmt: skip


def main(argv: list[str]) -> None:
    settings = Settings()
    if not argv:
        run(create_runtime(settings), create_routes(settings))
        return
    parser = argparse.ArgumentParser(prog="python -m services.contributions")
    actions = parser.add_subparsers(dest="command", required=True).add_parser("tokens")
    sub = actions.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="print a new token once")
    create.add_argument("--role", choices=["moderator", "operator"], required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--expires-in-days", type=float, help="refused after that many days (default: never)")
    sub.add_parser("list", help="every token, never the token itself")
    revoke = sub.add_parser("revoke", help="refuse a token from now on")
    revoke.add_argument("id", help="the token's id, as `tokens list` shows it")
    args = parser.parse_args(argv)
    if args.action == "create":
        days = args.expires_in_days
        expires = datetime.now(UTC) + timedelta(days=days) if days is not None else None
        print(asyncio.run(with_connection(settings, lambda c: create_token(c, args.role, args.name, expires))))
    elif args.action == "list":
        print_tokens(asyncio.run(with_connection(settings, list_tokens)))
    else:
        revoked = asyncio.run(with_connection(settings, lambda c: revoke_token(c, args.id)))
        print(f"{revoked} token(s) revoked")
        if not revoked:
            sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
