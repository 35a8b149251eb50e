"""Wiring of the indicators service: registry.organizations and registry.datasets in,
indicators.updated out (through the outbox)."""

from pathlib import Path

from pydantic import TypeAdapter

from services.indicators import handlers
from shared import topics
from shared.batch import batch_options, handle_batch_once
from shared.events import DatasetChanged, IndicatorsUpdated, OrganizationChanged
from shared.kafka import declare_publisher
from shared.service import Runtime
from shared.settings import Settings

SERVICE = "indicators"
SCHEMA = "indicators"
MIGRATIONS = Path(__file__).parent / "migrations"
ORGANIZATION_CHANGED: TypeAdapter[OrganizationChanged] = TypeAdapter(OrganizationChanged)
DATASET_CHANGED: TypeAdapter[DatasetChanged] = TypeAdapter(DatasetChanged)


def create_runtime(settings: Settings) -> Runtime:
    runtime = Runtime(settings, SERVICE, schema=SCHEMA, migrations=MIGRATIONS)
    broker = runtime.broker

    @broker.subscriber(
        settings.topic(topics.REGISTRY_ORGANIZATIONS),
        **batch_options(settings, SERVICE, topics.REGISTRY_ORGANIZATIONS, ORGANIZATION_CHANGED, runtime.dead_letters),
        description="Keeps the indicators' copy of the organisations and recomputes theirs, in batches.",
    )
    async def on_organizations_changed(events: list[OrganizationChanged]) -> None:
        await handle_batch_once(
            runtime.pool,
            SCHEMA,
            settings,
            f"{SERVICE}.{topics.REGISTRY_ORGANIZATIONS}",
            events,
            handlers.organizations_changed,
        )

    @broker.subscriber(
        settings.topic(topics.REGISTRY_DATASETS),
        **batch_options(settings, SERVICE, topics.REGISTRY_DATASETS, DATASET_CHANGED, runtime.dead_letters),
        description="Recomputes the indicators of the dataset's organisation and the national scope.",
    )
    async def on_datasets_changed(events: list[DatasetChanged]) -> None:
        await handle_batch_once(
            runtime.pool, SCHEMA, settings, f"{SERVICE}.{topics.REGISTRY_DATASETS}", events, handlers.datasets_changed
        )

    declare_publisher(
        broker,
        settings,
        SERVICE,
        topics.INDICATORS_UPDATED,
        schema=IndicatorsUpdated,
        description="Latest values of one scope, keyed scope:id (compacted).",
    )
    return runtime
