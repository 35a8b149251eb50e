"""SQL of the contributions schema."""

import asyncpg

from shared.events import Organization


async def upsert_known_organization(conn: asyncpg.Connection, org: Organization) -> None:
    await conn.execute(
        """INSERT INTO contributions.known_organizations (id, name) VALUES ($1, $2)
           ON CONFLICT (id) DO UPDATE SET name = $2, updated_at = now()""",
        org.id,
        org.name,
    )
