"""Events written by hand: harvested datasets for tests that start at the consolidator, and harvest
requests for tests and benchmarks that start at the harvester."""

from shared.events import DatasetDiscovered, HarvestRequested, Publisher
from shared.settings import Settings
from tests.support.kafka import produce, produce_many


def discovered(
    remote_id: str,
    publisher: Publisher,
    *,
    portal_url: str = "http://portal.test",
    source_id: str = "direct",
    title: str | None = None,
) -> DatasetDiscovered:
    title = title or f"Jeu {remote_id}"
    return DatasetDiscovered(
        producer="test",
        run_id=f"run-{source_id}",
        source_id=source_id,
        portal_kind="udata",
        portal_url=portal_url,
        remote_id=remote_id,
        publisher=publisher,
        title=title,
        content_hash=f"hash-{remote_id}-{title}",
    )


async def publish(settings: Settings, event: DatasetDiscovered) -> None:
    await produce(settings, "harvest.datasets", event.model_dump_json().encode(), key=event.key().encode())


async def request_runs(settings: Settings, source_ids: list[str], requested_by: str = "test") -> list[HarvestRequested]:
    """Ask for a full run of each source, one HarvestRequested each through one producer."""
    commands = [HarvestRequested(producer=requested_by, source_id=s, requested_by=requested_by) for s in source_ids]
    messages = [(c.key().encode(), c.model_dump_json().encode()) for c in commands]
    await produce_many(settings, "harvest.commands", messages)
    return commands
