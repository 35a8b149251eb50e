"""What a yearly edition's files hold, read in the transaction that took the edition."""

import json
from typing import Any

import asyncpg

from services.indicators.editions import DATASET_COLUMNS, INDICATOR_SCOPES


async def edition_rows(
    conn: asyncpg.Connection, year: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The organisations with their values of the edition, the other scopes' values, the live datasets."""
    organizations = await conn.fetch(
        """SELECT o.id, o.siren, o.name, o.type, o.insee_code, o.departement, o.region, o.epci, o.population,
                  o.obligated, o.council_id, e."values"
           FROM indicators.organization_list o
           LEFT JOIN indicators.editions e ON e.scope = 'organization' AND e.scope_id = o.id AND e.year = $1
           ORDER BY o.id""",
        year,
    )
    indicators = await conn.fetch(
        """SELECT scope, scope_id, "values", taken_at FROM indicators.editions
           WHERE year = $1 AND scope = ANY($2::text[]) ORDER BY scope, scope_id""",
        year,
        list(INDICATOR_SCOPES),
    )
    datasets = await conn.fetch(
        f"SELECT {', '.join(DATASET_COLUMNS)} FROM indicators.datasets WHERE NOT withdrawn ORDER BY id"
    )
    return (
        [{**dict(r), "values": json.loads(r["values"]) if r["values"] else {}} for r in organizations],
        [{**dict(r), "values": json.loads(r["values"])} for r in indicators],
        [{**dict(r), **{c: list(r[c]) for c in ("formats", "schemas", "themes", "portals")}} for r in datasets],
    )
