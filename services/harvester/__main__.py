"""`python -m services.harvester` runs the service; `python -m services.harvester sources ...` and
`python -m services.harvester request SOURCE_ID` manage sources and ask for a harvest."""

import argparse
import asyncio
import sys

from services.harvester import repository
from services.harvester.app import create_routes, create_runtime
from shared.db import create_pool
from shared.events import HarvestRequested
from shared.kafka import create_broker
from shared.messaging import publish_event
from shared.service import run
from shared.settings import Settings


async def _add_source(settings: Settings, args: argparse.Namespace) -> None:
    pool = await create_pool(settings, "harvester", max_size=1)
    async with pool.acquire() as conn:
        await repository.add_source(
            conn,
            repository.Source(
                id=args.id,
                url=args.url,
                family=args.family,
                name=args.name,
                owner_organization=args.owner,
                schedule=args.schedule,
            ),
        )
    await pool.close()
    print(f"source {args.id} saved")


async def _list_sources(settings: Settings) -> None:
    pool = await create_pool(settings, "harvester", max_size=1)
    async with pool.acquire() as conn:
        for s in await repository.list_sources(conn):
            print(f"{s.id}\t{s.family}\t{s.url}\t{s.name}\t{'enabled' if s.enabled else 'disabled'}")
    await pool.close()


async def _request(settings: Settings, args: argparse.Namespace) -> None:
    broker = create_broker(settings, "harvester-cli")
    await broker.start()
    try:
        await publish_event(
            broker,
            settings,
            HarvestRequested(producer="harvester-cli", source_id=args.source_id, mode=args.mode, requested_by="cli"),
        )
    finally:
        await broker.stop()
    print(f"harvest of {args.source_id} requested ({args.mode})")


def main(argv: list[str]) -> None:
    settings = Settings()
    if not argv:
        run(create_runtime(settings), create_routes())
        return
    parser = argparse.ArgumentParser(prog="python -m services.harvester")
    sub = parser.add_subparsers(dest="command", required=True)
    sources = sub.add_parser("sources").add_subparsers(dest="action", required=True)
    add = sources.add_parser("add")
    add.add_argument("--id", required=True)
    add.add_argument("--url", required=True)
    add.add_argument("--family", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--owner")
    add.add_argument("--schedule", default="@daily")
    sources.add_parser("list")
    request = sub.add_parser("request")
    request.add_argument("source_id")
    request.add_argument("--mode", choices=["full", "incremental"], default="full")
    args = parser.parse_args(argv)
    if args.command == "sources" and args.action == "add":
        asyncio.run(_add_source(settings, args))
    elif args.command == "sources":
        asyncio.run(_list_sources(settings))
    else:
        asyncio.run(_request(settings, args))


if __name__ == "__main__":
    main(sys.argv[1:])
