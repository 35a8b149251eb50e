"""Keeps the list of organisations contributions may target."""

import asyncpg

from services.contributions import repository
from shared.events import Event, OrganizationChanged


async def organizations_changed(conn: asyncpg.Connection, events: list[OrganizationChanged]) -> list[Event]:
    await repository.upsert_known_organizations(conn, [e.organization for e in events])
    return []
