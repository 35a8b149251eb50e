"""Loading the référentiel as `make up` does, for tests and benchmarks."""

from pathlib import Path

from services.consolidator.commands import load_referentiel
from shared.settings import Settings
from tests.support.db import connect_as
from tests.support.kafka import drained, wait_for


async def load_and_wait(
    settings: Settings, path: Path | None = None, *, indicators: bool = True, timeout: float = 180.0
) -> None:
    """Publish the référentiel and wait until the consolidator has merged it and published what came
    out of it (its outbox is empty), and, when the indicators service runs, until it has read those
    organisations. Without the outbox step, the indicators could look caught up while the relay was
    still publishing."""
    await load_referentiel(settings, path or settings.referentiel_path)
    await drained(settings, "consolidator", "registry.referentiel", timeout=timeout)
    conn = await connect_as(settings)
    try:

        async def outbox_empty() -> bool:
            return bool(await conn.fetchval("SELECT count(*) = 0 FROM registry.outbox"))

        await wait_for(outbox_empty, timeout=timeout, interval=0.2)
    finally:
        await conn.close()
    if indicators:
        await drained(settings, "indicators", "registry.organizations", timeout=timeout)
