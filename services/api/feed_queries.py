"""What the Atom feeds read: a selection's dataset arrivals and withdrawals, newest first, and a
scope's daily indicator values (for the thresholds they crossed)."""

import json
from typing import Any

import asyncpg

FEED_ENTRIES = 50
THRESHOLD_DAYS = 90  # the thresholds crossed over this many daily snapshots


async def organization_changes(conn: asyncpg.Connection, organization_id: str) -> list[dict[str, Any]]:
    return await _changes(conn, "d.organization_id = $1", organization_id)


async def territory_changes(conn: asyncpg.Connection, scope: str, code: str) -> list[dict[str, Any]]:
    """The changes of the datasets of the territory's organisations (`scope`: region or departement)."""
    column = {"region": "region", "departement": "departement"}[scope]
    return await _changes(
        conn,
        f"d.organization_id IN (SELECT id FROM indicators_read.organization_list WHERE {column} = $1)",
        code,
    )


async def _changes(conn: asyncpg.Connection, selection: str, value: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"""SELECT c.id, c.dataset_id, c.change, c.changed_at, c.title
            FROM registry_read.datasets d JOIN registry_read.dataset_changes c ON c.dataset_id = d.id
            WHERE {selection} ORDER BY c.id DESC LIMIT {FEED_ENTRIES}""",
        value,
    )
    return [dict(r) for r in rows]


async def daily_values(conn: asyncpg.Connection, scope: str, scope_id: str) -> list[tuple[str, dict[str, Any]]]:
    """(day, values) of the scope's last THRESHOLD_DAYS snapshots, oldest first."""
    rows = await conn.fetch(
        """SELECT day::text AS day, "values" FROM indicators_read.snapshots
           WHERE scope = $1 AND scope_id = $2 ORDER BY day DESC LIMIT $3""",
        scope,
        scope_id,
        THRESHOLD_DAYS,
    )
    return [(r["day"], json.loads(r["values"])) for r in reversed(rows)]
