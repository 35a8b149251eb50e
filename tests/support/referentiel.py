"""Loading the référentiel as `make up` does, for tests and benchmarks."""

from pathlib import Path

from services.consolidator.commands import load_referentiel
from shared.settings import Settings
from tests.support.kafka import drained


async def load_and_wait(
    settings: Settings, path: Path | None = None, *, indicators: bool = True, timeout: float = 180.0
) -> None:
    """Publish the référentiel and wait until the consolidator has merged it (and, when the indicators
    service runs, until it has read the organisations that came out of it)."""
    await load_referentiel(settings, path or settings.referentiel_path)
    await drained(settings, "consolidator", "registry.referentiel", timeout=timeout)
    if indicators:
        await drained(settings, "indicators", "registry.organizations", timeout=timeout)
