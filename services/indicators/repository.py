"""SQL of the indicators schema."""

import json
from datetime import datetime
from typing import Any

import asyncpg

from shared.events import CanonicalDataset, Organization


async def upsert_organizations(conn: asyncpg.Connection, organizations: list[Organization]) -> None:
    await conn.executemany(
        """INSERT INTO indicators.organizations (id, name, type, departement, region, population, obligated)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (id) DO UPDATE SET name = $2, type = $3, departement = $4, region = $5, population = $6,
               obligated = $7""",
        [(o.id, o.name, o.type, o.departement, o.region, o.population, o.obligated) for o in organizations],
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


async def count_datasets(conn: asyncpg.Connection, organization_ids: list[str]) -> dict[str, int]:
    rows = await conn.fetch(
        """SELECT organization_id, count(*) AS datasets FROM indicators.datasets
           WHERE organization_id = ANY($1::text[]) AND NOT withdrawn GROUP BY organization_id""",
        organization_ids,
    )
    counts = {r["organization_id"]: int(r["datasets"]) for r in rows}
    return {organization_id: counts.get(organization_id, 0) for organization_id in organization_ids}


async def national_counts(conn: asyncpg.Connection) -> tuple[int, int]:
    row = await conn.fetchrow(
        """SELECT count(DISTINCT organization_id) FILTER (WHERE organization_id IS NOT NULL) AS publishing,
                  count(*) AS datasets
           FROM indicators.datasets WHERE NOT withdrawn"""
    )
    return int(row["publishing"]), int(row["datasets"])


async def save_values(
    conn: asyncpg.Connection, scope: str, values_by_id: dict[str, dict[str, Any]], computed_at: datetime
) -> list[str]:
    """Store the values of each scope id; return the ids whose values changed (only those are announced)."""
    rows = await conn.fetch(
        'SELECT scope_id, "values" FROM indicators.current_values WHERE scope = $1 AND scope_id = ANY($2::text[])',
        scope,
        list(values_by_id),
    )
    current = {r["scope_id"]: json.loads(r["values"]) for r in rows}
    changed = [scope_id for scope_id, values in values_by_id.items() if current.get(scope_id) != values]
    await conn.executemany(
        """INSERT INTO indicators.current_values (scope, scope_id, "values", computed_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (scope, scope_id) DO UPDATE SET "values" = $3, computed_at = $4""",
        [(scope, scope_id, json.dumps(values_by_id[scope_id]), computed_at) for scope_id in changed],
    )
    return changed
