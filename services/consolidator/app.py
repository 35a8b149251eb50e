"""Wiring of the consolidator: harvest.datasets in, registry.organizations and registry.datasets out
(through the outbox)."""

from functools import partial
from pathlib import Path

from pydantic import TypeAdapter

from services.consolidator import handlers
from shared import topics
from shared.batch import batch_options, handle_batch_once
from shared.events import DatasetChanged, DatasetDiscovered, OrganizationChanged, ReferentielEntry
from shared.kafka import declare_publisher
from shared.matching import MatcherCache
from shared.service import Runtime
from shared.settings import Settings

SERVICE = "consolidator"
SCHEMA = "registry"
MIGRATIONS = Path(__file__).parent / "migrations"
REFERENTIEL_ENTRY: TypeAdapter[ReferentielEntry] = TypeAdapter(ReferentielEntry)
DATASET_DISCOVERED: TypeAdapter[DatasetDiscovered] = TypeAdapter(DatasetDiscovered)


def create_runtime(settings: Settings) -> Runtime:
    runtime = Runtime(settings, SERVICE, schema=SCHEMA, migrations=MIGRATIONS)
    broker = runtime.broker
    matchers = MatcherCache()
    on_datasets = partial(handlers.datasets_discovered, matchers=matchers)

    @broker.subscriber(
        settings.topic(topics.HARVEST_DATASETS),
        **batch_options(settings, SERVICE, topics.HARVEST_DATASETS, DATASET_DISCOVERED, runtime.dead_letters),
        description="Consolidates each harvested dataset into the registry.",
    )
    async def on_datasets_discovered(events: list[DatasetDiscovered]) -> None:
        await handle_batch_once(
            runtime.pool, SCHEMA, settings, f"{SERVICE}.{topics.HARVEST_DATASETS}", events, on_datasets
        )

    @broker.subscriber(
        settings.topic(topics.REGISTRY_REFERENTIEL),
        **batch_options(settings, SERVICE, topics.REGISTRY_REFERENTIEL, REFERENTIEL_ENTRY, runtime.dead_letters),
        description="Merges the organisations of the official référentiel into the registry, in batches.",
    )
    async def on_referentiel_entries(entries: list[ReferentielEntry]) -> None:
        await handle_batch_once(
            runtime.pool,
            SCHEMA,
            settings,
            f"{SERVICE}.{topics.REGISTRY_REFERENTIEL}",
            entries,
            handlers.referentiel_entries,
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
