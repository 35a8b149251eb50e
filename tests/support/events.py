"""Events written by hand for tests that start at the consolidator."""

from shared.events import DatasetDiscovered, Publisher
from shared.settings import Settings
from tests.support.kafka import produce


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
