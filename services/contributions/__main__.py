"""`python -m services.contributions` runs the contributions service.

python -m services.contributions tokens create --role moderator|operator --name NAME
    prints a new bearer token once (only its SHA-256 is stored); operators also use theirs for
    the sources and harvest-runs API.
"""

import argparse
import asyncio
import sys

from services.contributions.app import create_routes, create_runtime
from shared.auth import create_token
from shared.db import create_pool
from shared.service import run
from shared.settings import Settings


async def new_token(settings: Settings, role: str, name: str) -> str:
    pool = await create_pool(settings, "contributions", max_size=1)
    try:
        async with pool.acquire() as conn:
            return await create_token(conn, role, name)
    finally:
        await pool.close()


def main(argv: list[str]) -> None:
    settings = Settings()
    if not argv:
        run(create_runtime(settings), create_routes(settings))
        return
    parser = argparse.ArgumentParser(prog="python -m services.contributions")
    tokens = parser.add_subparsers(dest="command", required=True).add_parser("tokens")
    create = tokens.add_subparsers(dest="action", required=True).add_parser("create")
    create.add_argument("--role", choices=["moderator", "operator"], required=True)
    create.add_argument("--name", required=True)
    args = parser.parse_args(argv)
    print(asyncio.run(new_token(settings, args.role, args.name)))


if __name__ == "__main__":
    main(sys.argv[1:])
