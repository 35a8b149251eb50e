"""SQL of the indicators schema."""

import json
from datetime import datetime
from typing import Any

import asyncpg

from shared.events import CanonicalDataset, Organization


async def upsert_organization(conn: asyncpg.Connection, org: Organization) -> None:
    await conn.execute(
        """INSERT INTO indicators.organizations (id, name, type, departement, region, population, obligated)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (id) DO UPDATE SET name = $2, type = $3, departement = $4, region = $5, population = $6,
               obligated = $7""",
        org.id,
        org.name,
        org.type,
        org.departement,
        org.region,
        org.population,
        org.obligated,
    )


async def upsert_dataset(conn: asyncpg.Connection, dataset: CanonicalDataset) -> str | None:
    """Store the dataset's facts; return the organisation it belonged to before, if any."""
    previous: str | None = await conn.fetchval(
        "SELECT organization_id FROM indicators.datasets WHERE id = $1", dataset.id
    )
    formats = sorted({r.format for r in dataset.resources if r.format})
    await conn.execute(
        """INSERT INTO indicators.datasets (id, organization_id, withdrawn, licence, formats, modified)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (id) DO UPDATE SET organization_id = $2, withdrawn = $3, licence = $4, formats = $5,
               modified = $6""",
        dataset.id,
        dataset.organization_id,
        dataset.withdrawn,
        dataset.licence,
        formats,
        dataset.modified,
    )
    return previous


async def count_datasets(conn: asyncpg.Connection, organization_id: str) -> int:
    value: int = await conn.fetchval(
        "SELECT count(*) FROM indicators.datasets WHERE organization_id = $1 AND NOT withdrawn", organization_id
    )
    return value


async def national_counts(conn: asyncpg.Connection) -> tuple[int, int]:
    row = await conn.fetchrow(
        """SELECT count(DISTINCT organization_id) FILTER (WHERE organization_id IS NOT NULL) AS publishing,
                  count(*) AS datasets
           FROM indicators.datasets WHERE NOT withdrawn"""
    )
    return int(row["publishing"]), int(row["datasets"])


async def save_values(
    conn: asyncpg.Connection, scope: str, scope_id: str, values: dict[str, Any], computed_at: datetime
) -> bool:
    """Store the values; False when they equal those already stored (nothing to announce)."""
    current = await conn.fetchval(
        'SELECT "values" FROM indicators.current_values WHERE scope = $1 AND scope_id = $2', scope, scope_id
    )
    if current is not None and json.loads(current) == values:
        return False
    await conn.execute(
        """INSERT INTO indicators.current_values (scope, scope_id, "values", computed_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (scope, scope_id) DO UPDATE SET "values" = $3, computed_at = $4""",
        scope,
        scope_id,
        json.dumps(values),
        computed_at,
    )
    return True
