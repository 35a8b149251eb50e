"""Read-only SQL over the registry and indicators schemas (the api's role can only SELECT)."""

import json
from dataclasses import dataclass
from typing import Any

import asyncpg

from shared.matching import normalise

SORTS = {
    "name": "o.name",
    "-name": "o.name DESC",
    "population": "o.population NULLS FIRST",
    "-population": "o.population DESC NULLS LAST",
    "datasets": "datasets",
    "-datasets": "datasets DESC",
    "type": "o.type, o.name",
}


@dataclass(frozen=True)
class OrganizationFilter:
    q: str | None = None
    types: tuple[str, ...] = ()
    region: str | None = None
    departement: str | None = None
    obligated: bool | None = None
    publishes: bool | None = None
    status: str = "active"

    def where(self) -> tuple[str, list[Any]]:
        clauses, args = ["o.status = $1"], [self.status]

        def add(sql: str, *values: Any) -> None:
            for value in values:
                args.append(value)
                sql = sql.replace("?", f"${len(args)}", 1)
            clauses.append(sql)

        if self.q:
            add("(o.search_name LIKE ? OR o.id = ? OR o.insee_code = ?)", f"%{normalise(self.q)}%", self.q, self.q)
        if self.types:
            add("o.type = ANY(?::text[])", list(self.types))
        if self.region:
            add("o.region = ?", self.region)
        if self.departement:
            add("o.departement = ?", self.departement)
        if self.obligated is not None:
            add("o.obligated IS NOT DISTINCT FROM ?", self.obligated)
        if self.publishes is not None:
            add("(coalesce((v.\"values\"->>'publishes')::int, 0) = 1) = ?", self.publishes)
        return " AND ".join(clauses), args


LIST_COLUMNS = """o.id, o.siren, o.name, o.type, o.insee_code, o.departement, o.region, o.population, o.obligated,
    o.council_id, coalesce((v."values"->>'datasets')::int, 0) AS datasets,
    coalesce((v."values"->>'publishes')::int, 0) = 1 AS publishes"""
FROM = """registry.organizations o
    LEFT JOIN indicators.current_values v ON v.scope = 'organization' AND v.scope_id = o.id"""


async def list_organizations(
    conn: asyncpg.Connection, where: OrganizationFilter, sort: str, page: int, page_size: int
) -> tuple[list[dict[str, Any]], int]:
    sql, args = where.where()
    total = await conn.fetchval(f"SELECT count(*) FROM {FROM} WHERE {sql}", *args)
    rows = await conn.fetch(
        f"SELECT {LIST_COLUMNS} FROM {FROM} WHERE {sql} ORDER BY {SORTS[sort]}, o.id "
        f"LIMIT {page_size} OFFSET {(page - 1) * page_size}",
        *args,
    )
    return [dict(r) for r in rows], int(total)


async def resolve_id(conn: asyncpg.Connection, any_id: str) -> str | None:
    """The registry id for an id, a SIREN or an alias; a replaced id resolves to its successor."""
    row = await conn.fetchrow(
        """SELECT o.id, o.status, o.successor_id FROM registry.organizations o
           WHERE o.id = $1 OR o.siren = $1
              OR o.id = (SELECT organization_id FROM registry.aliases WHERE alias = $1)
           ORDER BY (o.status = 'active') DESC LIMIT 1""",
        any_id,
    )
    if row is None:
        return None
    return str(row["successor_id"]) if row["status"] == "replaced" and row["successor_id"] else str(row["id"])


async def organization_card(conn: asyncpg.Connection, organization_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        f"""SELECT o.state, v."values" AS indicators, v.computed_at
            FROM {FROM} WHERE o.id = $1""",
        organization_id,
    )
    if row is None:
        return None
    card: dict[str, Any] = json.loads(row["state"])
    card["obligated"] = (card.get("obligation") or {}).get("obligated")
    card["indicators"] = json.loads(row["indicators"]) if row["indicators"] else {}
    card["indicators_computed_at"] = row["computed_at"].isoformat() if row["computed_at"] else None
    return card


async def unmatched_publishers(conn: asyncpg.Connection, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
    total = await conn.fetchval("SELECT count(*) FROM registry.unmatched_publishers WHERE matched_to IS NULL")
    rows = await conn.fetch(
        """SELECT portal_url, name, remote_id, sightings, reason, candidates, first_seen, last_seen
           FROM registry.unmatched_publishers WHERE matched_to IS NULL
           ORDER BY sightings DESC, name LIMIT $1 OFFSET $2""",
        page_size,
        (page - 1) * page_size,
    )
    items = []
    for r in rows:
        item = dict(r)
        item["candidates"] = json.loads(item["candidates"])
        item["first_seen"], item["last_seen"] = item["first_seen"].isoformat(), item["last_seen"].isoformat()
        items.append(item)
    return items, int(total)


async def current_indicators(conn: asyncpg.Connection, scope: str, scope_id: str | None) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT scope_id, "values", computed_at FROM indicators.current_values
           WHERE scope = $1 AND ($2::text IS NULL OR scope_id = $2) ORDER BY scope_id LIMIT 50000""",
        scope,
        scope_id,
    )
    return [
        {"id": r["scope_id"], "values": json.loads(r["values"]), "computed_at": r["computed_at"].isoformat()}
        for r in rows
    ]


async def indicator_history(
    conn: asyncpg.Connection, scope: str, scope_id: str, kind: str, names: tuple[str, ...]
) -> list[dict[str, Any]]:
    """[{date or year, values}] in time order, values restricted to `names` when given."""
    if kind == "edition":
        sql = """SELECT year::text AS at, "values" FROM indicators.editions
                 WHERE scope = $1 AND scope_id = $2 ORDER BY year"""
    else:
        sql = """SELECT day::text AS at, "values" FROM indicators.snapshots
                 WHERE scope = $1 AND scope_id = $2 ORDER BY day"""
    series = []
    for row in await conn.fetch(sql, scope, scope_id):
        values = json.loads(row["values"])
        series.append({"at": row["at"], "values": {n: values.get(n) for n in names} if names else values})
    return series
