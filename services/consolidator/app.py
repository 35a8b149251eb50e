"""Wiring of the consolidator: harvest.datasets in, registry.organizations and registry.datasets out
(through the outbox)."""

from pathlib import Path

from services.consolidator import handlers
from shared import topics
from shared.events import DatasetChanged, DatasetDiscovered, OrganizationChanged
from shared.kafka import declare_publisher, subscriber_options
from shared.messaging import handle_once
from shared.service import Runtime
from shared.settings import Settings

SERVICE = "consolidator"
SCHEMA = "registry"
MIGRATIONS = Path(__file__).parent / "migrations"


def create_runtime(settings: Settings) -> Runtime:
    runtime = Runtime(settings, SERVICE, schema=SCHEMA, migrations=MIGRATIONS)
    broker = runtime.broker

    @broker.subscriber(
        settings.topic(topics.HARVEST_DATASETS),
        **subscriber_options(settings, SERVICE, topics.HARVEST_DATASETS),
        description="Consolidates each harvested dataset into the registry.",
    )
    async def on_dataset_discovered(event: DatasetDiscovered) -> None:
        await handle_once(
            runtime.pool, SCHEMA, settings, f"{SERVICE}.{topics.HARVEST_DATASETS}", event, handlers.dataset_discovered
        )

    declare_publisher(
        broker,
        settings,
        SERVICE,
        topics.REGISTRY_ORGANIZATIONS,
        schema=OrganizationChanged,
        description="Full state of an organisation on every change, keyed by its id (compacted).",
    )
    declare_publisher(
        broker,
        settings,
        SERVICE,
        topics.REGISTRY_DATASETS,
        schema=DatasetChanged,
        description="Full state of a canonical dataset on every change, keyed by its id (compacted).",
    )
    return runtime
