"""Consolidation of harvested datasets into the registry. Each handler runs inside the transaction
that also claims the event in the inbox and stores the emitted events in the outbox."""

from datetime import UTC, datetime

import asyncpg

from services.consolidator import repository
from services.consolidator.datasets import canonical_from, canonical_id
from services.consolidator.organizations import alias_keys, organization_from_publisher
from shared.events import DatasetChanged, DatasetDiscovered, Event, OrganizationChanged

PRODUCER = "consolidator"


async def dataset_discovered(conn: asyncpg.Connection, event: DatasetDiscovered) -> list[Event]:
    now = datetime.now(UTC)
    emitted: list[Event] = []
    organization_id = await _resolve_publisher(conn, event, emitted)

    existing = await repository.find_source_record(conn, event.source_id, event.remote_id)
    if (
        existing
        and existing.content_hash == event.content_hash
        and (await repository.dataset_organization(conn, existing.dataset_id) == organization_id)
    ):
        # Same content as last time: remember we saw it, emit nothing.
        await repository.touch_source(conn, event.source_id, event.remote_id, event.run_id, now)
        return emitted

    dataset_id = existing.dataset_id if existing else canonical_id(event.source_id, event.remote_id)
    provisional = canonical_from(dataset_id, organization_id, event, sources=[])
    await repository.upsert_dataset(conn, provisional)
    await repository.upsert_source(conn, dataset_id, event, now)
    dataset = provisional.model_copy(update={"sources": await repository.sources_of(conn, dataset_id)})
    emitted.append(
        DatasetChanged(
            producer=PRODUCER,
            correlation_id=event.run_id,
            change="updated" if existing else "created",
            dataset=dataset,
        )
    )
    return emitted


async def _resolve_publisher(conn: asyncpg.Connection, event: DatasetDiscovered, emitted: list[Event]) -> str | None:
    publisher = event.publisher
    keys = alias_keys(event.portal_url, publisher)
    if publisher.siren:
        organization = organization_from_publisher(publisher.siren, publisher)
        if await repository.insert_organization(conn, organization):
            emitted.append(
                OrganizationChanged(producer=PRODUCER, correlation_id=event.run_id, organization=organization)
            )
        await repository.add_alias(conn, keys[0], organization.id, "portal-publisher")
        return organization.id
    known = await repository.find_alias(conn, keys)
    if known:
        return known
    await repository.record_unmatched(conn, event.portal_url, publisher.name, publisher.remote_id)
    return None
