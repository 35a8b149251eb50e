"""Wiring of the contributions service: registry.organizations in (to validate targets),
contributions.events out (through the outbox)."""

from pathlib import Path

from services.contributions import handlers
from shared import topics
from shared.batch import subscribe_batch
from shared.events import ContributionAccepted, ContributionRejected, ContributionSubmitted, OrganizationChanged
from shared.kafka import declare_publisher
from shared.service import Runtime
from shared.settings import Settings

SERVICE = "contributions"
SCHEMA = "contributions"
MIGRATIONS = Path(__file__).parent / "migrations"


def create_runtime(settings: Settings) -> Runtime:
    runtime = Runtime(settings, SERVICE, schema=SCHEMA, migrations=MIGRATIONS)
    broker = runtime.broker

    subscribe_batch(
        runtime,
        topics.REGISTRY_ORGANIZATIONS,
        OrganizationChanged,
        handlers.organizations_changed,
        "Keeps the organisations a contribution may target, in batches.",
    )

    declare_publisher(
        broker,
        settings,
        SERVICE,
        topics.CONTRIBUTIONS_EVENTS,
        schema=ContributionSubmitted | ContributionAccepted | ContributionRejected,
        description="Proposals and moderators' decisions, keyed by the target organisation.",
    )
    return runtime
