"""Recomputation of the indicators a registry change touches: the organisation(s) concerned and the
national scope. Only values that changed are announced."""

from datetime import UTC, datetime

import asyncpg

from services.indicators import repository
from services.indicators.measures import OrganizationFacts, national_values, organization_values
from shared.events import DatasetChanged, Event, IndicatorsUpdated, OrganizationChanged

PRODUCER = "indicators"


async def organization_changed(conn: asyncpg.Connection, event: OrganizationChanged) -> list[Event]:
    await repository.upsert_organization(conn, event.organization)
    return await _recompute(conn, {event.organization.id}, event.correlation_id)


async def dataset_changed(conn: asyncpg.Connection, event: DatasetChanged) -> list[Event]:
    previous = await repository.upsert_dataset(conn, event.dataset)
    touched = {org for org in (previous, event.dataset.organization_id) if org}
    return await _recompute(conn, touched, event.correlation_id)


async def _recompute(conn: asyncpg.Connection, organization_ids: set[str], correlation_id: str | None) -> list[Event]:
    now = datetime.now(UTC)
    emitted: list[Event] = []
    for organization_id in sorted(organization_ids):
        values = organization_values(OrganizationFacts(datasets=await repository.count_datasets(conn, organization_id)))
        if await repository.save_values(conn, "organization", organization_id, values, now):
            emitted.append(_updated("organization", organization_id, values, now, correlation_id))
    publishing, datasets = await repository.national_counts(conn)
    values = national_values(publishing, datasets)
    if await repository.save_values(conn, "national", "FR", values, now):
        emitted.append(_updated("national", "FR", values, now, correlation_id))
    return emitted


def _updated(
    scope: str, scope_id: str, values: dict[str, float | int | None], now: datetime, correlation_id: str | None
) -> IndicatorsUpdated:
    return IndicatorsUpdated(
        producer=PRODUCER, correlation_id=correlation_id, scope=scope, scope_id=scope_id, values=values, computed_at=now
    )
