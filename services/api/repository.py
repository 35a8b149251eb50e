"""Read-only SQL over the registry and indicators schemas (the api's role can only SELECT): the lists,
their totals, platforms, indicators, the map and statistics; the card (card_queries.py) and the exports
(export_queries.py) apart, the SQL built from filters in selections.py."""

import json
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from services.api.selections import (
    DATASET_KEYS,
    DatasetFilter,
    OrganizationFilter,
    after_clause,
    contains,
    order_by,
    population_case,
)

LIST_COLUMNS = """o.id, o.siren, o.name, o.type, o.insee_code, o.departement, o.region, o.population, o.obligated,
    o.council_id, o.datasets, o.publishes"""


COUNCIL = "coalesce(o.council_id, o.id)"  # the council a row belongs to (itself for most)


LIST = "indicators_read.organization_list o"  # the api's read model of the registry and its values


WITH_VALUES = f"""{LIST}
    LEFT JOIN indicators_read.current_values v ON v.scope = 'organization' AND v.scope_id = o.id"""


async def list_organizations(
    conn: asyncpg.Connection,
    where: OrganizationFilter,
    sort: str,
    page_size: int,
    page: int = 1,
    after: list[Any] | None = None,
) -> list[dict[str, Any]]:
    """A page of the selection in this order: the `page`-th, or the one after `after`'s sort keys."""
    sql, order, args = where.query(sort, after)
    offset = (page - 1) * page_size if after is None else 0
    # LIMIT and OFFSET as parameters: one statement text per shape of the filter, which asyncpg prepares
    # once per connection, not once per page.
    limit, skip = f"${len(args) + 1}", f"${len(args) + 2}"
    rows = await conn.fetch(
        f"SELECT {LIST_COLUMNS} FROM {LIST} WHERE {sql} ORDER BY {order} LIMIT {limit} OFFSET {skip}",
        *args, page_size, offset,
    )  # fmt: skip
    return [dict(r) for r in rows]


async def count_organizations(conn: asyncpg.Connection, where: OrganizationFilter) -> int:
    sql, args = where.where()
    return int(await conn.fetchval(f"SELECT count(*) FROM {LIST} WHERE {sql}", *args))


async def list_version(conn: asyncpg.Connection) -> int:
    """The version of the indicators' projection, which every change of the lists' read models bumps."""
    return int(await conn.fetchval("SELECT version FROM indicators_read.projection_version"))


async def resolve_id(conn: asyncpg.Connection, any_id: str) -> str | None:
    """The registry id for an id, a SIREN or an alias; a replaced id resolves to its successor."""
    row = await conn.fetchrow(
        """SELECT o.id, o.status, o.successor_id FROM registry_read.organizations o
           WHERE o.id = $1 OR o.siren = $1
              OR o.id = (SELECT organization_id FROM registry_read.aliases WHERE alias = $1)
           ORDER BY (o.status = 'active') DESC LIMIT 1""",
        any_id,
    )
    if row is None:
        return None
    return str(row["successor_id"]) if row["status"] == "replaced" and row["successor_id"] else str(row["id"])


PLATFORM_COLUMNS = ["url", "name", "technology", "typology", "organizations_hosted", "datasets", "source_id",
                    "status", "departement", "carrier_id", "carrier_name", "carrier_type",
                    "data_requests_url"]  # fmt: skip


async def platforms(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Every platform (ODF's platforms): each harvested source and any portal the indicators know, with
    its technology, the typology and hosted councils the indicators computed, its declared carrier
    (the source's owner), most hosting first."""
    rows = await conn.fetch(
        """SELECT coalesce(s.url, v.scope_id) AS url, s.id AS source_id, s.name, s.family, s.departement,
                  CASE WHEN s.id IS NULL THEN NULL WHEN s.removed_at IS NOT NULL THEN 'removed'
                       WHEN s.enabled THEN 'harvested' ELSE 'paused' END AS status,
                  s.owner_organization AS carrier_id, o.name AS carrier_name, o.type AS carrier_type,
                  s.data_requests_url, v."values"
           FROM harvest_read.sources s
           FULL JOIN (SELECT scope_id, "values" FROM indicators_read.current_values WHERE scope = 'platform') v
                  ON v.scope_id = s.url
           LEFT JOIN registry_read.organizations o ON o.id = s.owner_organization"""
    )
    result = [_platform(r) for r in rows]
    result.sort(key=lambda p: (-p["organizations_hosted"], -p["datasets"], p["name"].casefold()))
    return result


def _platform(row: asyncpg.Record) -> dict[str, Any]:
    values = json.loads(row["values"]) if row["values"] else {}
    keyed = {prefix: next((k.split(":", 1)[1] for k in values if k.startswith(prefix + ":")), None)
             for prefix in ("typology", "technology")}  # fmt: skip
    platform = dict(row)
    del platform["values"], platform["family"]
    return platform | {
        "name": row["name"] or urlsplit(row["url"]).netloc or row["url"],
        "technology": row["family"] or keyed["technology"],
        "typology": keyed["typology"],
        "organizations_hosted": values.get("organizations_hosted", 0),
        "datasets": values.get("datasets", 0),
    }


async def platform_organizations(conn: asyncpg.Connection, source_id: str) -> list[dict[str, Any]] | None:
    """The organisations whose live datasets a source lists, most datasets first (None: no such source)."""
    if not await conn.fetchval("SELECT true FROM harvest_read.sources WHERE id = $1", source_id):
        return None
    rows = await conn.fetch(
        """SELECT o.id, o.name, o.type, o.departement, count(DISTINCT d.id) AS datasets
           FROM registry_read.dataset_sources s
           JOIN registry_read.datasets d ON d.id = s.dataset_id AND NOT d.withdrawn
           JOIN registry_read.organizations o ON o.id = d.organization_id
           WHERE s.source_id = $1 AND s.withdrawn_at IS NULL
           GROUP BY o.id, o.name, o.type, o.departement ORDER BY datasets DESC, o.name""",
        source_id,
    )
    return [dict(r) for r in rows]


async def unmatched_publishers(
    conn: asyncpg.Connection, page: int, page_size: int, q: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Publishers no organisation was found for, most seen first; `q` in their name or portal."""
    where = "matched_to IS NULL AND ($1::text IS NULL OR name ILIKE $1 OR portal_url ILIKE $1)"
    pattern = contains(q) if q else None
    total = await conn.fetchval(f"SELECT count(*) FROM registry_read.unmatched_publishers WHERE {where}", pattern)
    rows = await conn.fetch(
        f"""SELECT portal_url, name, remote_id, sightings, reason, candidates, first_seen, last_seen
            FROM registry_read.unmatched_publishers WHERE {where}
            ORDER BY sightings DESC, name LIMIT $2 OFFSET $3""",
        pattern,
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
        """SELECT scope_id, "values", computed_at FROM indicators_read.current_values
           WHERE scope = $1 AND ($2::text IS NULL OR scope_id = $2) ORDER BY scope_id LIMIT 50000""",
        scope,
        scope_id,
    )
    return [
        {"id": r["scope_id"], "values": json.loads(r["values"]), "computed_at": r["computed_at"].isoformat()}
        for r in rows
    ]


async def indicator_history(
    conn: asyncpg.Connection,
    scope: str,
    scope_id: str,
    kind: str,
    names: tuple[str, ...],
    latest: int | None = None,
) -> list[dict[str, Any]]:
    """[{date or year, values}] in time order, values restricted to `names` when given; only the
    `latest` entries when given (read newest first, so the older ones are never fetched)."""
    column, table = ("year", "editions") if kind == "edition" else ("day", "snapshots")
    sql = f"""SELECT {column}::text AS at, "values" FROM indicators_read.{table}
              WHERE scope = $1 AND scope_id = $2 ORDER BY {column} DESC LIMIT $3"""  # LIMIT NULL: all
    series = []
    for row in reversed(await conn.fetch(sql, scope, scope_id, latest)):
        values = json.loads(row["values"])
        series.append({"at": row["at"], "values": {n: values.get(n) for n in names} if names else values})
    return series


async def list_datasets(
    conn: asyncpg.Connection, where: DatasetFilter, page_size: int, page: int = 1, after: list[Any] | None = None
) -> tuple[list[str], list[Any] | None]:
    """A page of canonical datasets as the consolidator states them (with their `sources`), by title,
    each as JSON text: the `page`-th, or the one after `after`'s sort keys; and the last row's sort keys."""
    selection = where.selection()
    if after is not None:
        after_clause(selection.where, DATASET_KEYS, after)
    sql, args = selection.where.built()
    limit, skip = f"${len(args) + 1}", f"${len(args) + 2}"
    # The page's rows first, from the index of the order alone (its columns are the filters'), then
    # their states and reuses: joined before the OFFSET, every skipped row would be read too.
    rows = await conn.fetch(
        f"""SELECT d.state, p.title, p.id, cardinality(r.reuses) AS reuses
            FROM ({selection.rows()} WHERE {sql} ORDER BY {order_by(DATASET_KEYS)} LIMIT {limit} OFFSET {skip}) p
            JOIN registry_read.datasets d ON d.id = p.id JOIN indicators_read.datasets r ON r.id = p.id
            ORDER BY p.title, p.id""",
        *args, page_size, (page - 1) * page_size if after is None else 0,
    )  # fmt: skip
    last = [rows[-1]["title"], rows[-1]["id"]] if rows else None
    # Each state as PostgreSQL holds it (a JSON object), with its reuses added as text: decoding and
    # encoding again a page of states cost the api more than the rest of the request.
    return [r["state"][:-1] + f',"reuses":{r["reuses"]}}}' for r in rows if r["state"]], last


async def count_datasets(conn: asyncpg.Connection, where: DatasetFilter, estimated_from: int) -> tuple[int, bool]:
    """How many datasets the selection holds, and whether exactly: the planner's estimate when it
    expects more than `estimated_from` (counting those reads tens of thousands of rows)."""
    selection = where.selection()
    sql, args = selection.where.built()
    rows = f"FROM {selection.relation} WHERE {sql}"
    plan = json.loads(await conn.fetchval(f"EXPLAIN (FORMAT JSON) SELECT 1 {rows}", *args))
    estimate = int(plan[0]["Plan"]["Plan Rows"])  # for words, a dataset counted once per word matching
    if estimate > estimated_from:
        return estimate, False
    return int(
        await conn.fetchval(f"SELECT count({'DISTINCT i.id' if selection.distinct else '*'}) {rows}", *args)
    ), True


MAP_FIELDS = {"id": "o.id", "siren": "o.siren", "name": "o.name", "type": "o.type", "insee_code": "o.insee_code",
              "departement": "o.departement", "region": "o.region", "obligated": "o.obligated",
              "publishes": "o.publishes"}  # fmt: skip


async def map_points(conn: asyncpg.Connection, where: OrganizationFilter) -> list[asyncpg.Record]:
    """What placing and colouring each organisation of the filter needs."""
    sql, args = where.where()
    fields = ", ".join(f"{expression} AS {name}" for name, expression in MAP_FIELDS.items())
    return list(await conn.fetch(f"SELECT {fields} FROM {LIST} WHERE {sql}", *args))


async def map_columns(conn: asyncpg.Connection, where: OrganizationFilter) -> dict[str, list[Any]]:
    """The same as one list per field: arrays aggregated by PostgreSQL and decoded by asyncpg cost a
    fraction of tens of thousands of records taken apart in Python."""
    sql, args = where.where()
    arrays = ", ".join(
        f"coalesce(array_agg({expression}), '{{}}') AS {name}" for name, expression in MAP_FIELDS.items()
    )
    row = await conn.fetchrow(f"SELECT {arrays} FROM {LIST} WHERE {sql}", *args)
    assert row is not None, "an aggregate always returns a row"
    return {name: row[name] for name in MAP_FIELDS}


async def indicator_by_area(conn: asyncpg.Connection, scope: str, indicator: str) -> dict[str, Any]:
    rows = await conn.fetch(
        """SELECT scope_id, "values"->$2 AS value FROM indicators_read.current_values WHERE scope = $1""",
        scope,
        indicator,
    )
    return {r["scope_id"]: json.loads(r["value"]) if r["value"] is not None else None for r in rows}


GROUPINGS = {
    "type": "o.type",
    "region": "o.region",
    "departement": "o.departement",
    "population_bin": "NULL",  # grouped in Python from the population
}


async def organization_groups(conn: asyncpg.Connection, where: OrganizationFilter, by: str) -> list[dict[str, Any]]:
    """Counts of the selection per group: organisations (rows), publishing councils, obligated councils,
    obligated and publishing ones; with each group's name where it has one."""
    sql, args = where.where()
    key = GROUPINGS[by] if by != "population_bin" else population_case()
    # As the indicators count (docs/indicators.md, single councils): a council once per group, and
    # publishing through any of its rows (the Collectivité de Corse publishes in 2A and in 2B).
    rows = await conn.fetch(
        f"""WITH publishing_councils AS (
                SELECT DISTINCT coalesce(c.council_id, c.id) AS council
                FROM indicators_read.organization_list c WHERE c.publishes)
            SELECT {key} AS key, count(*) AS organizations,
                   count(DISTINCT {COUNCIL}) FILTER (WHERE pc.council IS NOT NULL) AS publishing,
                   count(DISTINCT {COUNCIL}) FILTER (WHERE o.obligated) AS obligated,
                   count(DISTINCT {COUNCIL}) FILTER (WHERE o.obligated AND pc.council IS NOT NULL)
                       AS obligated_publishing
            FROM {LIST} LEFT JOIN publishing_councils pc ON pc.council = {COUNCIL}
            WHERE {sql} GROUP BY 1 ORDER BY 1""",
        *args,
    )
    names: dict[str, str] = {}
    if by in ("region", "departement"):
        # An overseas collectivité (Polynésie française, 987...) is both the région and the département
        # of its communes: without it they would be labelled by their bare code.
        kinds = ["REG" if by == "region" else "DEP", "COLOM"]
        found = await conn.fetch(
            f"SELECT {by} AS code, name FROM registry_read.organizations WHERE type = ANY($1) AND status = 'active'",
            kinds,
        )
        names = {r["code"]: r["name"] for r in found}
    return [{**dict(r), "label": names.get(r["key"]) if r["key"] else None} for r in rows]


async def catalog_facts(conn: asyncpg.Connection) -> dict[str, Any]:
    """When the nation's indicators were last computed, and its first daily snapshot."""
    row = await conn.fetchrow(
        """SELECT (SELECT max(computed_at) FROM indicators_read.current_values WHERE scope = 'national') AS modified,
                  (SELECT min(day) FROM indicators_read.snapshots WHERE scope = 'national' AND scope_id = 'FR')
                      AS first_day"""
    )
    return dict(row)


async def organization_summary(
    conn: asyncpg.Connection, requested: str
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """An organisation's row of the list and its indicators, by any id it is known by (for its card)."""
    organization_id = await resolve_id(conn, requested)
    row = organization_id and await conn.fetchrow(
        """SELECT o.id, o.name, o.type, o.population, o.datasets, o.publishes, v."values"
           FROM indicators_read.organization_list o
           LEFT JOIN indicators_read.current_values v ON v.scope = 'organization' AND v.scope_id = o.id
           WHERE o.id = $1""",
        organization_id,
    )
    if not row:
        return None
    return {k: row[k] for k in ("id", "name", "type", "population", "datasets", "publishes")}, json.loads(
        row["values"] or "{}"
    )


async def territory_name(conn: asyncpg.Connection, scope: str, code: str) -> str | None:
    """The name of the région or département (its council's row) of this code."""
    organization_type, column = {"region": ("REG", "region"), "departement": ("DEP", "departement")}[scope]
    name: str | None = await conn.fetchval(
        f"SELECT name FROM indicators_read.organization_list WHERE type = $1 AND {column} = $2 ORDER BY id LIMIT 1",
        organization_type,
        code,
    )
    return name
