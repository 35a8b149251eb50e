"""`python -m services.harvester` runs the service. Operator commands:

python -m services.harvester sources add --id ID --url URL --family FAMILY --name NAME [--schedule @daily]
python -m services.harvester sources seed FILE     add or update every source of a YAML sources file
python -m services.harvester sources list
python -m services.harvester request SOURCE_ID [--mode full|incremental]
"""

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

import yaml

from services.harvester import repository, schedules
from services.harvester.app import SourceIn, create_routes, create_runtime
from shared.db import create_pool
from shared.events import HarvestRequested
from shared.kafka import create_broker
from shared.messaging import publish_event
from shared.service import run
from shared.settings import Settings


async def save_sources(settings: Settings, sources: list[SourceIn]) -> None:
    pool = await create_pool(settings, "harvester", max_size=1)
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        for s in sources:
            source = s.to_source()
            await repository.add_source(conn, source, schedules.next_run(source.schedule, now))
    await pool.close()
    print(f"{len(sources)} source(s) saved")


def read_sources_file(path: Path) -> list[SourceIn]:
    """A YAML list of sources: `- {id, url, family, name, owner?, schedule?}`; `${OBS_SIMULATOR_URL}`
    in a URL is replaced by the simulated portals' address (for the demo)."""
    settings = Settings()
    simulator = f"http://{settings.http_host}:{settings.simulator_port}"
    entries = yaml.safe_load(path.read_text()) or []
    return [
        SourceIn.model_validate({**e, "url": str(e["url"]).replace("${OBS_SIMULATOR_URL}", simulator)}) for e in entries
    ]


async def list_sources(settings: Settings) -> None:
    pool = await create_pool(settings, "harvester", max_size=1)
    async with pool.acquire() as conn:
        for s in await repository.list_sources(conn):
            print(f"{s['id']}\t{s['family']}\t{s['url']}\t{s['last_status'] or 'never run'}\t{s['last_items'] or 0}")
    await pool.close()


async def request(settings: Settings, source_id: str, mode: str) -> None:
    broker = create_broker(settings, "harvester-cli")
    await broker.start()
    try:
        await publish_event(
            broker,
            settings,
            HarvestRequested(producer="harvester-cli", source_id=source_id, mode=mode, requested_by="cli"),
        )
    finally:
        await broker.stop()
    print(f"harvest of {source_id} requested ({mode})")


def main(argv: list[str]) -> None:
    settings = Settings()
    if not argv:
        run(create_runtime(settings), create_routes())
        return
    parser = argparse.ArgumentParser(prog="python -m services.harvester")
    sub = parser.add_subparsers(dest="command", required=True)
    sources = sub.add_parser("sources").add_subparsers(dest="action", required=True)
    add = sources.add_parser("add")
    for flag in ("--id", "--url", "--family", "--name"):
        add.add_argument(flag, required=True)
    add.add_argument("--owner")
    add.add_argument("--schedule", default="@daily")
    add.add_argument("--departement", help="the portal's territory (COG code), to tell homonym communes apart")
    seed = sources.add_parser("seed")
    seed.add_argument("file", type=Path)
    sources.add_parser("list")
    ask = sub.add_parser("request")
    ask.add_argument("source_id")
    ask.add_argument("--mode", choices=["full", "incremental"], default="full")
    args = parser.parse_args(argv)
    if args.command == "request":
        asyncio.run(request(settings, args.source_id, args.mode))
    elif args.action == "add":
        source = SourceIn(
            id=args.id,
            url=args.url,
            family=args.family,
            name=args.name,
            owner=args.owner,
            schedule=args.schedule,
            departement=args.departement,
        )
        asyncio.run(save_sources(settings, [source]))
    elif args.action == "seed":
        asyncio.run(save_sources(settings, read_sources_file(args.file)))
    else:
        asyncio.run(list_sources(settings))


if __name__ == "__main__":
    main(sys.argv[1:])
