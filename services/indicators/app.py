"""Wiring of the indicators service: registry.organizations, registry.datasets, harvest.reuses and
harvest.audience in, indicators.updated out (through the outbox)."""

from functools import partial
from pathlib import Path

from services.indicators import handlers
from shared import topics
from shared.batch import subscribe_batch
from shared.events import AudienceMeasured, DatasetChanged, IndicatorsUpdated, OrganizationChanged, ReuseDiscovered
from shared.kafka import declare_publisher
from shared.service import Runtime
from shared.settings import Settings

SERVICE = "indicators"
SCHEMA = "indicators"
MIGRATIONS = Path(__file__).parent / "migrations"


def create_runtime(settings: Settings) -> Runtime:
    runtime = Runtime(settings, SERVICE, schema=SCHEMA, migrations=MIGRATIONS)
    projection = handlers.Projection()  # shared by both consumers (their batches are serialised)
    national_portals = tuple(url.strip() for url in settings.national_portals.split(",") if url.strip())
    broker = runtime.broker

    subscribe_batch(
        runtime,
        topics.REGISTRY_ORGANIZATIONS,
        OrganizationChanged,
        partial(handlers.organizations_changed, projection=projection),
        "Keeps the indicators' copy of the organisations and recomputes theirs, in batches.",
    )
    subscribe_batch(
        runtime,
        topics.REGISTRY_DATASETS,
        DatasetChanged,
        partial(handlers.datasets_changed, national_portals=national_portals, projection=projection),
        "Recomputes the indicators of the dataset's organisation and the national scope.",
    )

    subscribe_batch(
        runtime,
        topics.HARVEST_REUSES,
        ReuseDiscovered,
        partial(handlers.reuses_changed, projection=projection),
        "Counts the reuses portals list with the datasets they use, in batches.",
    )

    subscribe_batch(
        runtime,
        topics.HARVEST_AUDIENCE,
        AudienceMeasured,
        partial(handlers.audience_measured, projection=projection),
        "Sums what portals count of their datasets (views, downloads...), per software, in batches.",
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
