"""Operator commands of the consolidator (see `python -m services.consolidator --help`)."""

import asyncio
from pathlib import Path

from services.consolidator import organization_repository
from services.consolidator.referentiel import organizations, read_package
from shared.db import create_pool
from shared.events import ReferentielEntry
from shared.messaging import BulkPublisher
from shared.settings import Settings


async def load_referentiel(settings: Settings, path: Path) -> int:
    """Publish one ReferentielEntry per organisation; the consolidator merges them into the registry."""
    package = read_package(path)
    publisher = BulkPublisher(settings, "referentiel-loader")  # 36,000 events: the pipelined producer
    await publisher.start()
    try:
        pending = [
            await publisher.publish(
                ReferentielEntry(
                    producer="referentiel-loader",
                    correlation_id=f"referentiel:{package.version}",
                    version=package.version,
                    organization=organization,
                ),
                confirm=False,
            )
            for organization in organizations(package)
        ]
        await asyncio.gather(*pending)
    finally:
        await publisher.stop()
    return len(pending)


async def print_obligated_counts(settings: Settings) -> None:
    pool = await create_pool(settings, "consolidator", max_size=1)
    async with pool.acquire() as conn:
        rows = await organization_repository.obligated_counts(conn)
    await pool.close()
    print(f"{'type':<6} {'organisations':>13} {'obligated':>9} {'unknown':>7} {'councils':>8}  method")
    for r in rows:
        print(
            f"{r['type'] or '-':<6} {r['organizations']:>13} {r['obligated']:>9} {r['unknown']:>7} "
            f"{r['obligated_councils']:>8}  {r['methods']}"
        )
