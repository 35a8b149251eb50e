"""Keeps the list of organisations contributions may target."""

import asyncpg

from services.contributions import repository
from shared.events import Event, OrganizationChanged


async def organization_changed(conn: asyncpg.Connection, event: OrganizationChanged) -> list[Event]:
    await repository.upsert_known_organization(conn, event.organization)
    return []
