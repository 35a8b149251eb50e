"""Wiring of the contributions service: registry.organizations in (to validate targets),
contributions.events out (through the outbox)."""

from pathlib import Path

from pydantic import TypeAdapter

from services.contributions import handlers
from shared import topics
from shared.batch import batch_options, handle_batch_once
from shared.events import ContributionAccepted, ContributionRejected, ContributionSubmitted, OrganizationChanged
from shared.kafka import declare_publisher
from shared.service import Runtime
from shared.settings import Settings

SERVICE = "contributions"
SCHEMA = "contributions"
MIGRATIONS = Path(__file__).parent / "migrations"
ORGANIZATION_CHANGED: TypeAdapter[OrganizationChanged] = TypeAdapter(OrganizationChanged)


def create_runtime(settings: Settings) -> Runtime:
    runtime = Runtime(settings, SERVICE, schema=SCHEMA, migrations=MIGRATIONS)
    broker = runtime.broker

    @broker.subscriber(
        settings.topic(topics.REGISTRY_ORGANIZATIONS),
        **batch_options(settings, SERVICE, topics.REGISTRY_ORGANIZATIONS, ORGANIZATION_CHANGED, runtime.dead_letters),
        description="Keeps the organisations a contribution may target, in batches.",
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

    declare_publisher(
        broker,
        settings,
        SERVICE,
        topics.CONTRIBUTIONS_EVENTS,
        schema=ContributionSubmitted | ContributionAccepted | ContributionRejected,
        description="Proposals and moderators' decisions, keyed by the target organisation.",
    )
    return runtime
