"""Operator commands of the indicators service. Both write what they emit to the outbox, which the
running service relays to Kafka."""

from datetime import UTC, datetime

from services.indicators import edition_repository, handlers, repository
from services.indicators.app import SCHEMA
from services.indicators.editions import edition_files
from shared.db import create_pool
from shared.editions import EditionPublished, published_years, write_edition
from shared.messaging import add_to_outbox
from shared.settings import Settings


async def recompute_everything(settings: Settings) -> list[str]:
    """Recompute every publication and scope from the projection; return the scopes that changed."""
    pool = await create_pool(settings, "indicators", max_size=1)
    try:
        async with pool.acquire() as conn, conn.transaction():
            emitted = await handlers.recompute_all(conn)
            await add_to_outbox(conn, SCHEMA, settings, emitted)
        return [event.key() for event in emitted]
    finally:
        await pool.close()


async def take_edition(settings: Settings, year: int | None) -> int:
    """Keep today's values of every scope as the edition of `year` (this year by default), and publish
    its files (shared/editions.py); entries and exits then count from the last edition, so every scope
    is recomputed (and announced) at once. A published edition never changes: EditionPublished."""
    now = datetime.now(UTC)
    year = year or now.year
    if year in published_years(settings.editions_dir):
        raise EditionPublished(f"l'édition {year} est déjà publiée : ses fichiers ne changent plus")
    pool = await create_pool(settings, "indicators", max_size=1)
    try:
        async with pool.acquire() as conn, conn.transaction():
            kept = await repository.take_edition(conn, year, now)
            await add_to_outbox(conn, SCHEMA, settings, await handlers.recompute_all(conn))
            files = edition_files(year, now, *await edition_repository.edition_rows(conn, year))
        write_edition(settings.editions_dir, year, files)
        return kept
    finally:
        await pool.close()
