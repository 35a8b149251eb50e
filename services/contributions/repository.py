"""SQL of the contributions schema."""

import asyncpg

from shared.events import Organization


async def upsert_known_organizations(conn: asyncpg.Connection, organizations: list[Organization]) -> None:
    await conn.executemany(
        """INSERT INTO contributions.known_organizations (id, name) VALUES ($1, $2)
           ON CONFLICT (id) DO UPDATE SET name = $2, updated_at = now()""",
        [(o.id, o.name) for o in organizations],
    )
