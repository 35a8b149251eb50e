"""Wiring of the contributions service: registry.organizations in (to validate targets),
contributions.events out (through the outbox)."""

from pathlib import Path

from services.contributions import handlers
from shared import topics
from shared.events import ContributionAccepted, ContributionRejected, ContributionSubmitted, OrganizationChanged
from shared.kafka import declare_publisher, subscriber_options
from shared.messaging import handle_once
from shared.service import Runtime
from shared.settings import Settings

SERVICE = "contributions"
SCHEMA = "contributions"
MIGRATIONS = Path(__file__).parent / "migrations"


def create_runtime(settings: Settings) -> Runtime:
    runtime = Runtime(settings, SERVICE, schema=SCHEMA, migrations=MIGRATIONS)
    broker = runtime.broker

    @broker.subscriber(
        settings.topic(topics.REGISTRY_ORGANIZATIONS),
        **subscriber_options(settings, SERVICE, topics.REGISTRY_ORGANIZATIONS),
        description="Keeps the organisations a contribution may target.",
    )
    async def on_organization_changed(event: OrganizationChanged) -> None:
        await handle_once(
            runtime.pool,
            SCHEMA,
            settings,
            f"{SERVICE}.{topics.REGISTRY_ORGANIZATIONS}",
            event,
            handlers.organization_changed,
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
