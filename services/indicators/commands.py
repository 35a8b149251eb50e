"""Operator commands of the indicators service. Both write what they emit to the outbox, which the
running service relays to Kafka."""

from datetime import UTC, datetime

from services.indicators import handlers, repository
from services.indicators.app import SCHEMA
from shared.db import create_pool
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
    """Keep today's values of every scope as the edition of `year` (this year by default); entries and
    exits then count from the last edition, so every scope is recomputed (and announced) at once."""
    pool = await create_pool(settings, "indicators", max_size=1)
    try:
        async with pool.acquire() as conn, conn.transaction():
            now = datetime.now(UTC)
            kept = await repository.take_edition(conn, year or now.year, now)
            await add_to_outbox(conn, SCHEMA, settings, await handlers.recompute_all(conn))
            return kept
    finally:
        await pool.close()
