"""Recomputation of the indicators a registry change touches: the organisation(s) concerned and the
national scope. Only values that changed are announced."""

from datetime import UTC, datetime

import asyncpg

from services.indicators import repository
from services.indicators.measures import OrganizationFacts, national_values, organization_values
from shared.events import DatasetChanged, Event, IndicatorsUpdated, OrganizationChanged

PRODUCER = "indicators"


async def organizations_changed(conn: asyncpg.Connection, events: list[OrganizationChanged]) -> list[Event]:
    await repository.upsert_organizations(conn, [e.organization for e in events])
    return await _recompute(conn, {e.organization.id for e in events}, events[-1].correlation_id)


async def datasets_changed(conn: asyncpg.Connection, events: list[DatasetChanged]) -> list[Event]:
    """A batch: store every dataset's facts, then recompute each organisation touched once."""
    touched: set[str] = set()
    for event in events:
        previous = await repository.upsert_dataset(conn, event.dataset)
        touched |= {org for org in (previous, event.dataset.organization_id) if org}
    return await _recompute(conn, touched, events[-1].correlation_id)


async def _recompute(conn: asyncpg.Connection, organization_ids: set[str], correlation_id: str | None) -> list[Event]:
    now = datetime.now(UTC)
    counts = await repository.count_datasets(conn, sorted(organization_ids))
    by_organization = {org: organization_values(OrganizationFacts(datasets=n)) for org, n in counts.items()}
    changed = await repository.save_values(conn, "organization", by_organization, now)
    emitted: list[Event] = [_updated("organization", org, by_organization[org], now, correlation_id) for org in changed]
    publishing, datasets = await repository.national_counts(conn)
    national = {"FR": national_values(publishing, datasets)}
    if await repository.save_values(conn, "national", national, now):
        emitted.append(_updated("national", "FR", national["FR"], now, correlation_id))
    return emitted


def _updated(
    scope: str, scope_id: str, values: dict[str, float | int | None], now: datetime, correlation_id: str | None
) -> IndicatorsUpdated:
    return IndicatorsUpdated(
        producer=PRODUCER, correlation_id=correlation_id, scope=scope, scope_id=scope_id, values=values, computed_at=now
    )
