"""`python -m services.harvester` runs the service. Operator commands:

python -m services.harvester sources add --id ID --url URL --family FAMILY --name NAME [--schedule @daily]
python -m services.harvester sources seed FILE [--first-within MINUTES]
                                                  add or update every source of a YAML sources file
python -m services.harvester sources list
python -m services.harvester sources detect URL   which family reads URL, and why
python -m services.harvester sources pause|resume|remove SOURCE_ID [--by NAME]
python -m services.harvester sources move SOURCE_ID URL [--by NAME]
                                                  an operator's decision, audited (services/harvester/lifecycle.py)
python -m services.harvester request SOURCE_ID [--mode full|incremental]
"""

import argparse
import asyncio
import hashlib
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from services.harvester import lifecycle, repository, schedules
from services.harvester.app import MIGRATIONS, SCHEMA, SourceIn, create_routes, create_runtime, detect_family
from services.harvester.fetch import FetchError, check_address
from shared.db import apply_migrations, create_pool
from shared.events import HarvestRequested
from shared.kafka import create_broker
from shared.messaging import publish_event
from shared.service import run
from shared.settings import Settings


async def save_sources(settings: Settings, sources: list[SourceIn], within: timedelta | None = None) -> None:
    pool = await create_pool(settings, "harvester", max_size=1)
    # Compose's bootstrap job seeds before the harvester first starts: its tables first (idempotent).
    await apply_migrations(pool, SCHEMA, MIGRATIONS)
    planned = first_runs(sources, datetime.now(UTC), within)
    async with pool.acquire() as conn:
        for s in sources:
            source = s.to_source()
            await repository.add_source(conn, source, planned[source.id])
    await pool.close()
    print(f"{len(sources)} source(s) saved")


def read_sources_file(path: Path) -> tuple[list[SourceIn], list[dict[str, Any]]]:
    """A YAML list of sources: `- {id, url, family, name, owner?, schedule?, departement?,
    data_requests_url?}`, and of
    platforms listed as not harvested (`harvested: false` with a `reason`); other keys (`odf`) are
    notes. `${OBS_SIMULATOR_URL}` in a URL is replaced by the simulated portals' address (the demo)."""
    settings = Settings()
    simulator = f"http://{settings.http_host}:{settings.simulator_port}"
    entries = yaml.safe_load(path.read_text()) or []
    skipped = [e for e in entries if e.get("harvested") is False]
    fields = set(SourceIn.model_fields)
    sources = [
        SourceIn.model_validate(
            {k: v for k, v in e.items() if k in fields}
            | {"url": str(e["url"]).replace("${OBS_SIMULATOR_URL}", simulator)}
        )
        for e in entries
        if e.get("harvested") is not False
    ]
    return sources, skipped


def _expand(url: Any, simulator: str) -> str:
    return str(url).replace("${OBS_SIMULATOR_URL}", simulator)


def first_runs(sources: list[SourceIn], now: datetime, within: timedelta | None) -> dict[str, datetime | None]:
    """When each source first runs: after its interval, or spread over `within` (a stable offset per
    source, so that a whole catalogue does not start at the same second)."""
    planned: dict[str, datetime | None] = {}
    for s in sources:
        source = s.to_source()
        if within is None or schedules.interval(source.schedule) is None:
            planned[source.id] = schedules.next_run(source.schedule, now)
        else:
            offset = int(hashlib.sha256(source.id.encode()).hexdigest(), 16) % max(int(within.total_seconds()), 1)
            planned[source.id] = now + timedelta(seconds=offset)
    return planned


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


async def change_source(settings: Settings, source_id: str, action: str, actor: str, url: str | None) -> None:
    pool = await create_pool(settings, "harvester", max_size=1)
    try:
        async with pool.acquire() as conn:
            source = await repository.get_source(conn, source_id)
            if source is None:
                sys.exit(f"source inconnue : {source_id}")
            async with conn.transaction():
                if action == "move":
                    assert url is not None
                    await check_address(url, settings.allow_private_sources)
                    await lifecycle.move(conn, source, actor, url)
                else:
                    change = {"pause": lifecycle.pause, "resume": lifecycle.resume, "remove": lifecycle.remove}[action]
                    await change(conn, source, actor, datetime.now(UTC))
    except lifecycle.Refused as exc:
        sys.exit(str(exc))
    except FetchError as exc:
        sys.exit(f"adresse refusée : {exc.reason}")
    finally:
        await pool.close()
    print(f"{source_id}: {action} done")


SOURCE_ARGUMENTS = ("id", "url", "family", "name", "owner", "schedule", "departement")  # `sources add`'s


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
    seed.add_argument(
        "--first-within", type=int, metavar="MINUTES", help="new sources first run within this delay, spread out"
    )
    sources.add_parser("list")
    probe = sources.add_parser("detect", help="which family reads URL, with the evidence")
    probe.add_argument("url")
    for action in ("pause", "resume", "remove", "move"):
        change = sources.add_parser(action)
        change.add_argument("source_id")
        if action == "move":
            change.add_argument("url")
        change.add_argument("--by", default="cli", help="who decides (kept in the source's history)")
    ask = sub.add_parser("request")
    ask.add_argument("source_id")
    ask.add_argument("--mode", choices=["full", "incremental"], default="full")
    args = parser.parse_args(argv)
    if args.command == "request":
        asyncio.run(request(settings, args.source_id, args.mode))
    elif args.action == "add":
        source = SourceIn(**{name: getattr(args, name) for name in SOURCE_ARGUMENTS})
        asyncio.run(save_sources(settings, [source]))
    elif args.action == "seed":
        entries, skipped = read_sources_file(args.file)
        within = timedelta(minutes=args.first_within) if args.first_within else None
        asyncio.run(save_sources(settings, entries, within))
        if skipped:
            print(f"{len(skipped)} platform(s) listed as not harvested (see their reason in {args.file})")
    elif args.action in ("pause", "resume", "remove", "move"):
        asyncio.run(change_source(settings, args.source_id, args.action, args.by, getattr(args, "url", None)))
    elif args.action == "detect":
        found = asyncio.run(detect_family(settings, args.url))
        for line in found.tried:
            print(f"  essayé : {line}")
        print(f"{found.family or 'aucune'}\t{found.url or ''}\t{found.evidence}")
        sys.exit(0 if found.family else 1)
    else:
        asyncio.run(list_sources(settings))


if __name__ == "__main__":
    main(sys.argv[1:])
