"""Read-only SQL over the registry and indicators schemas (the api's role can only SELECT)."""

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import asyncpg

from services.api.search import read_search
from shared.matching import search_words
from shared.population import NO_POPULATION, POPULATION_BOUNDS, population_bounds

CHUNK = 500  # rows per batch of an export


class SortKey(NamedTuple):
    expression: str
    descending: bool = False
    nulls_first: bool = False
    nullable: bool = False
    kind: type = str  # of its values, which an `after` token must hold

    def holds(self, value: Any) -> bool:
        """Whether `value` can be this key's (a token's value, checked before any query)."""
        return (value is None and self.nullable) or (type(value) is self.kind)


# Each sort as its ORDER BY keys, the id breaking ties: the indexes of indicators.organization_list
# follow them, and keyset pages (`after`) continue them.
SORTS: dict[str, tuple[SortKey, ...]] = {
    "name": (SortKey("o.name"),),
    "-name": (SortKey("o.name", True, True),),
    "population": (SortKey("o.population", False, True, True, int),),
    "-population": (SortKey("o.population", True, False, True, int),),
    "datasets": (SortKey("o.datasets", kind=int),),
    "-datasets": (SortKey("o.datasets", True, True, kind=int),),
    "type": (SortKey("o.type", nullable=True), SortKey("o.name")),
    "relevance": (SortKey("o.name"),),  # without a search; with one, OrganizationFilter.query ranks first
}
ID_KEY = SortKey("o.id")


def order_by(keys: tuple[SortKey, ...]) -> str:
    return ", ".join(
        f"{k.expression}{' DESC' if k.descending else ''} NULLS {'FIRST' if k.nulls_first else 'LAST'}" for k in keys
    )


def after_clause(where: "Where", keys: tuple[SortKey, ...], values: list[Any]) -> None:
    """Rows that come after the row whose sort keys were `values`, in the order of `keys` (keyset
    pagination), written so that the index of the order can start from that row: one row comparison
    when every key goes one way and holds no NULL; else, for some key, every key before it equal and
    that one beyond, with the first key bounded where NULLs cannot come after."""
    first = keys[0]
    if all(not k.nullable and k.descending == first.descending for k in keys):
        row = ", ".join(k.expression for k in keys)
        where.add(f"({row}) {'<' if first.descending else '>'} ({', '.join('?' * len(values))})", *values)
        return
    branches = []
    for n, (key, value) in enumerate(zip(keys, values, strict=True)):
        equal = [
            f"{k.expression} {'IS NOT DISTINCT FROM' if k.nullable else '='} {where.param(v)}"
            for k, v in zip(keys, values[:n], strict=False)
        ]
        if value is None:  # NULLs come first (then anything not NULL is beyond) or last (nothing is)
            beyond = f"{key.expression} IS NOT NULL" if key.nulls_first else "FALSE"
        else:
            beyond = f"{key.expression} {'<' if key.descending else '>'} {where.param(value)}"
            if key.nullable and not key.nulls_first:
                beyond = f"({beyond} OR {key.expression} IS NULL)"
        branches.append(" AND ".join([*equal, beyond]))
    where.add("(" + " OR ".join(f"({b})" for b in branches) + ")")
    if values[0] is not None and (not first.nullable or first.nulls_first):  # no NULL after it
        where.add(f"{first.expression} {'<=' if first.descending else '>='} ?", values[0])


def contains(text: str) -> str:
    """A LIKE pattern for values containing `text`, its wildcards taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class Where:
    """A WHERE clause built condition by condition: each `?` of a condition becomes the next `$n`."""

    def __init__(self, sql: str | None = None, *values: Any) -> None:
        self.clauses: list[str] = []
        self.args: list[Any] = []
        if sql:
            self.add(sql, *values)

    def add(self, sql: str, *values: Any) -> None:
        for value in values:
            self.args.append(value)
            sql = sql.replace("?", f"${len(self.args)}", 1)
        self.clauses.append(sql)

    def param(self, value: Any) -> str:
        """A placeholder for `value`, for SQL written after the conditions (ORDER BY)."""
        self.args.append(value)
        return f"${len(self.args)}"

    def built(self) -> tuple[str, list[Any]]:
        return " AND ".join(self.clauses) or "TRUE", self.args


@dataclass(frozen=True)
class OrganizationFilter:
    """A selection of active organisations (indicators.organization_list holds no other)."""

    q: str | None = None
    types: tuple[str, ...] = ()
    region: str | None = None
    departement: str | None = None
    obligated: bool | None = None
    publishes: bool | None = None
    technology: str | None = None  # a portal family among its datasets' portals
    population_bin: str | None = None

    def where(self) -> tuple[str, list[Any]]:
        return self._where().built()

    def query(self, sort: str, after: list[Any] | None = None) -> tuple[str, str, list[Any]]:
        """The WHERE and ORDER BY of a list in this order (from the row after `after`'s sort keys,
        when given), and their arguments."""
        where = self._where()
        keys = (*SORTS[sort], ID_KEY)
        if after is not None:
            after_clause(where, keys, after)
        order = order_by(keys)
        if sort == "relevance" and self.q:
            order = f"{self._rank(where)}, o.population DESC NULLS LAST, o.name, o.id"
        sql, args = where.built()
        return sql, order, args

    def _rank(self, where: Where) -> str:
        """0 the exact name or code, 1 a name that starts with the text, 2 a word that does, 3 others."""
        search = read_search(self.q or "")
        typed, text, place = where.param(search.typed), where.param(search.text), where.param(search.place)
        return f"""CASE WHEN o.search_name IN ({text}, {place}) OR {typed} IN (o.id, o.insee_code, o.siren) THEN 0
            WHEN o.search_name LIKE {text} || '%' OR o.search_name LIKE {place} || '%' THEN 1
            WHEN o.search_name LIKE '% ' || {text} || '%' OR o.search_name LIKE '% ' || {place} || '%' THEN 2
            ELSE 3 END"""

    def _where(self) -> Where:
        where = Where()
        add = where.add
        if self.q:
            search = read_search(self.q)
            named = "o.search_name LIKE ? OR o.id = ? OR o.insee_code = ? OR o.siren = ?"
            typed = (search.typed,) * 3
            if search.departement:  # "Rennes 35": Rennes in the 35, or a name that ends in 35
                add(f"({named} OR (o.search_name LIKE ? AND o.departement = ?))", contains(search.text), *typed,
                    contains(search.place or ""), search.departement)  # fmt: skip
            else:
                add(f"({named})", contains(search.text), *typed)
        if self.types:
            add("o.type = ANY(?::text[])", list(self.types))
        if self.region:
            add("o.region = ?", self.region)
        if self.departement:
            add("o.departement = ?", self.departement)
        if self.obligated is not None:
            add("o.obligated IS NOT DISTINCT FROM ?", self.obligated)
        if self.technology:
            add("? = ANY(o.technologies)", self.technology)
        if self.population_bin:
            low, high = population_bounds(self.population_bin)
            if low is None:
                add("o.population IS NULL")
            else:
                add("o.population >= ?", low)
                if high is not None:
                    add("o.population < ?", high)
        if self.publishes is not None:
            add("o.publishes = ?", self.publishes)
        return where


LIST_COLUMNS = """o.id, o.siren, o.name, o.type, o.insee_code, o.departement, o.region, o.population, o.obligated,
    o.council_id, o.datasets, o.publishes"""
COUNCIL = "coalesce(o.council_id, o.id)"  # the council a row belongs to (itself for most)
LIST = "indicators.organization_list o"  # the api's read model of the registry and its values
WITH_VALUES = f"""{LIST}
    LEFT JOIN indicators.current_values v ON v.scope = 'organization' AND v.scope_id = o.id"""


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


def sort_keys(row: dict[str, Any], sort: str) -> list[Any]:
    """A row's values of the sort's keys and its id: what `after` continues from."""
    return [row[key.expression.removeprefix("o.")] for key in (*SORTS[sort], ID_KEY)]


async def count_organizations(conn: asyncpg.Connection, where: OrganizationFilter) -> int:
    sql, args = where.where()
    return int(await conn.fetchval(f"SELECT count(*) FROM {LIST} WHERE {sql}", *args))


async def list_version(conn: asyncpg.Connection) -> int:
    """The version of the indicators' projection, which every change of the lists' read models bumps."""
    return int(await conn.fetchval("SELECT version FROM indicators.projection_version"))


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


CARD_HISTORY_DAYS = 366  # the card's daily history: the last days its values changed (all: /indicators/history)


async def organization_card(conn: asyncpg.Connection, organization_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        """SELECT o.state, v."values" AS indicators, v.computed_at FROM registry.organizations o
           LEFT JOIN indicators.current_values v ON v.scope = 'organization' AND v.scope_id = o.id
           WHERE o.id = $1""",
        organization_id,
    )
    if row is None:
        return None
    card: dict[str, Any] = json.loads(row["state"])
    card["obligated"] = (card.get("obligation") or {}).get("obligated")
    card["indicators"] = json.loads(row["indicators"]) if row["indicators"] else {}
    card["indicators_computed_at"] = row["computed_at"].isoformat() if row["computed_at"] else None
    card["portals"] = await organization_portals(conn, organization_id)
    card["reuses"] = await organization_reuses(conn, organization_id)
    card["audience"] = await organization_audience(conn, organization_id, card["indicators"])
    card["territory"] = await territory_of(conn, card)
    card["council"] = await council_of(conn, card)
    card["history"] = {
        "daily": await indicator_history(conn, "organization", organization_id, "daily", (), CARD_HISTORY_DAYS),
        "editions": await indicator_history(conn, "organization", organization_id, "edition", ()),
    }
    return card


async def territory_of(conn: asyncpg.Connection, card: dict[str, Any]) -> dict[str, Any]:
    """The organisation's département, région and intercommunalité, each with its id and name (for
    links), from the registry's own rows: {"departement": {...} | None, "region": ..., "epci": ...}."""
    rows = await conn.fetch(
        """SELECT id, name, type, departement, region, siren FROM registry.organizations
           WHERE status = 'active' AND ((type = 'DEP' AND departement = $1) OR (type = 'REG' AND region = $2)
                 OR (type IN ('CC', 'CA', 'CU', 'MET') AND siren = $3))""",
        card.get("departement"),
        card.get("region"),
        card.get("epci"),
    )
    found = {r["type"] if r["type"] in ("DEP", "REG") else "EPCI": r for r in rows if r["id"] != card.get("id")}

    def named(kind: str, code_field: str) -> dict[str, Any] | None:
        row = found.get(kind)
        return {"id": row["id"], "name": row["name"], "code": row[code_field]} if row else None

    return {
        "departement": named("DEP", "departement"),
        "region": named("REG", "region"),
        "epci": named("EPCI", "siren"),
    }


async def council_of(conn: asyncpg.Connection, card: dict[str, Any]) -> dict[str, Any] | None:
    """For a single council (several rows sharing a `council_id`: the Collectivité de Corse...), the
    council's row and every territory it serves, in whose indicators it counts; None for others."""
    council = card.get("council_id")
    if not council:  # most organisations: no query on the card's path
        return None
    rows = await conn.fetch(
        """SELECT id, name, type, coalesce(departement, region) AS code, id = $1 AS is_council
           FROM registry.organizations WHERE coalesce(council_id, id) = $1 AND status = 'active'
           ORDER BY (id = $1) DESC, type DESC, code""",
        council,
    )
    if len(rows) < 2:
        return None
    serves = [{"id": r["id"], "name": r["name"], "type": r["type"], "code": r["code"]} for r in rows]
    return {"id": council, "name": rows[0]["name"] if rows[0]["is_council"] else None, "serves": serves}


async def organization_portals(conn: asyncpg.Connection, organization_id: str) -> list[dict[str, Any]]:
    """The portals listing the organisation's datasets (records not withdrawn), most datasets first:
    the same portals its `platforms` indicator counts."""
    rows = await conn.fetch(
        """SELECT s.portal_url AS url, s.portal_kind AS kind, count(DISTINCT s.dataset_id) AS datasets
           FROM registry.datasets d JOIN registry.dataset_sources s ON s.dataset_id = d.id
           WHERE d.organization_id = $1 AND NOT d.withdrawn AND s.withdrawn_at IS NULL
           GROUP BY 1, 2 ORDER BY 3 DESC, 1""",
        organization_id,
    )
    return [dict(r) for r in rows]


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
           FROM harvest.sources s
           FULL JOIN (SELECT scope_id, "values" FROM indicators.current_values WHERE scope = 'platform') v
                  ON v.scope_id = s.url
           LEFT JOIN registry.organizations o ON o.id = s.owner_organization"""
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
    if not await conn.fetchval("SELECT true FROM harvest.sources WHERE id = $1", source_id):
        return None
    rows = await conn.fetch(
        """SELECT o.id, o.name, o.type, o.departement, count(DISTINCT d.id) AS datasets
           FROM registry.dataset_sources s
           JOIN registry.datasets d ON d.id = s.dataset_id AND NOT d.withdrawn
           JOIN registry.organizations o ON o.id = d.organization_id
           WHERE s.source_id = $1 AND s.withdrawn_at IS NULL
           GROUP BY o.id ORDER BY datasets DESC, o.name""",
        source_id,
    )
    return [dict(r) for r in rows]


CARD_REUSES = 100  # the card's reuses, most datasets used first (their count: the `reuses` indicator)


async def organization_reuses(conn: asyncpg.Connection, organization_id: str) -> list[dict[str, Any]]:
    """The reuses portals list with the organisation's live datasets: title, type, link to the reuse
    and to its page, how many of its datasets each uses."""
    rows = await conn.fetch(
        """SELECT r.key AS id, r.title, r.type, r.url, r.remote_url, count(*) AS datasets
           FROM indicators.datasets d CROSS JOIN LATERAL unnest(d.reuses) AS used (key)
           JOIN indicators.reuses r ON r.key = used.key
           WHERE d.organization_id = $1 AND NOT d.withdrawn
           GROUP BY r.key ORDER BY datasets DESC, r.title LIMIT $2""",
        organization_id,
        CARD_REUSES,
    )
    return [dict(r) for r in rows]


async def organization_audience(
    conn: asyncpg.Connection, organization_id: str, indicators: dict[str, Any]
) -> list[dict[str, Any]]:
    """Its datasets' counters per software (`counted_by`) and metric, each with the day of the latest
    measure that software gave: never summed across software that count differently."""
    rows = await conn.fetch(
        """SELECT a.counted_by, max(a.measured_at) AS measured_at
           FROM indicators.datasets d CROSS JOIN LATERAL unnest(d.records) AS live (record)
           JOIN indicators.audience a ON a.record = live.record
           WHERE d.organization_id = $1 AND NOT d.withdrawn GROUP BY a.counted_by""",
        organization_id,
    )
    measured = {r["counted_by"]: r["measured_at"].isoformat() for r in rows}
    counted = (key.split(":", 2)[1:] for key in sorted(indicators) if key.startswith("audience:"))
    return [
        {
            "counted_by": by,
            "metric": metric,
            "count": indicators[f"audience:{by}:{metric}"],
            "measured_at": measured.get(by),
        }
        for by, metric in counted
    ]


async def unmatched_publishers(
    conn: asyncpg.Connection, page: int, page_size: int, q: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Publishers no organisation was found for, most seen first; `q` in their name or portal."""
    where = "matched_to IS NULL AND ($1::text IS NULL OR name ILIKE $1 OR portal_url ILIKE $1)"
    pattern = contains(q) if q else None
    total = await conn.fetchval(f"SELECT count(*) FROM registry.unmatched_publishers WHERE {where}", pattern)
    rows = await conn.fetch(
        f"""SELECT portal_url, name, remote_id, sightings, reason, candidates, first_seen, last_seen
            FROM registry.unmatched_publishers WHERE {where}
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
    sql = f"""SELECT {column}::text AS at, "values" FROM indicators.{table}
              WHERE scope = $1 AND scope_id = $2 ORDER BY {column} DESC LIMIT $3"""  # LIMIT NULL: all
    series = []
    for row in reversed(await conn.fetch(sql, scope, scope_id, latest)):
        values = json.loads(row["values"])
        series.append({"at": row["at"], "values": {n: values.get(n) for n in names} if names else values})
    return series


@dataclass(frozen=True)
class DatasetFilter:
    organization: str | None = None
    format: str | None = None
    licence: str | None = None
    schema: str | None = None
    q: str | None = None
    modified_since: datetime | None = None
    withdrawn: bool = False

    def selection(self) -> "Selection":
        """Where the selection is read, as `i`, and its conditions: the datasets list's read model
        (indicators.datasets), or for a text search the words of the listed datasets' titles
        (indicators.dataset_words): a title matches when each word searched begins one of its words,
        and the longest one searched leads the walk down the words' index, in the list's order."""
        words = sorted(search_words(self.q or ""), key=len, reverse=True) if not self.withdrawn else []
        if words and len(words[0]) >= MIN_LEADING_WORD:
            where = Where("i.word >= ? AND i.word < ?", *prefix_range(words[0]))
            for word in words[1:]:
                where.add(f"EXISTS (SELECT FROM indicators.dataset_words x WHERE x.id = i.id AND {WORD_RANGE})",
                          *prefix_range(word))  # fmt: skip
            selection = Selection("indicators.dataset_words i", True, where)
        else:  # no word to search by, or the withdrawn datasets: their titles' text
            where = Where("i.withdrawn = ?", self.withdrawn)
            if self.q:
                where.add("i.title ILIKE ?", contains(self.q))
            selection = Selection("indicators.datasets i", False, where)
        add = where.add
        if self.organization:
            add("i.organization_id = ?", self.organization)
        if self.format:
            add("i.formats @> ARRAY[?::text]", self.format)
        if self.licence:
            add("i.licence = ?", self.licence)
        if self.schema:
            add("i.schemas @> ARRAY[?::text]", self.schema)
        if self.modified_since:
            add("i.modified >= ?", self.modified_since)
        return selection


MIN_LEADING_WORD = 2  # a search led by one letter would walk a twentieth of every title's words
WORD_RANGE = "x.word >= ? AND x.word < ?"


def prefix_range(prefix: str) -> tuple[str, str]:
    """The bounds of the words that begin with `prefix` (the words' column sorts by code point)."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


class Selection(NamedTuple):
    relation: str  # a table, as `i`
    distinct: bool  # several of a dataset's rows may match (one per word): each dataset once
    where: Where

    def rows(self) -> str:
        return f"SELECT {'DISTINCT ' if self.distinct else ''}i.id, i.title FROM {self.relation}"


DATASET_KEYS = (SortKey("i.title"), SortKey("i.id"))  # the datasets' one order


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
            JOIN registry.datasets d ON d.id = p.id JOIN indicators.datasets r ON r.id = p.id
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


EXPORT_INDICATORS = (
    "platforms",
    "on_local_portal",
    "on_national_portal",
    "open_format_share",
    "open_licence_share",
    "fresh_share",
    "schema_share",
    "scdl_schemas",
    "reuses",
    "reused_share",
)
EXPORT_COLUMNS = [
    "id", "siren", "name", "type", "insee_code", "departement", "region", "epci", "population", "obligated",
    "council_id", "datasets", "publishes", *EXPORT_INDICATORS,
]  # fmt: skip


async def _batches(conn: asyncpg.Connection, sql: str, args: list[Any]) -> AsyncIterator[list[asyncpg.Record]]:
    """Rows of a query by batches of CHUNK rows, from a server-side cursor (flat memory)."""
    async with conn.transaction(readonly=True):
        batch: list[asyncpg.Record] = []
        async for row in conn.cursor(sql, *args, prefetch=CHUNK):
            batch.append(row)
            if len(batch) == CHUNK:
                yield batch
                batch = []
        if batch:
            yield batch


async def _keyset_batches(
    conn: asyncpg.Connection,
    query: Callable[[list[Any] | None], tuple[str, list[Any]]],
    keys: Callable[[asyncpg.Record], list[Any]],
) -> AsyncIterator[list[asyncpg.Record]]:
    """Rows by batches of CHUNK, each batch the next keyset page of `query` (its SQL and arguments
    after a row's sort keys), in one snapshot. A cursor over the whole query would be planned for all
    its rows (a sort of every row of the selection before the first: 180 to 350 ms), where a page is
    a walk down the index of its order."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        after = None
        while True:
            sql, args = query(after)
            rows = await conn.fetch(sql, *args)
            if rows:
                yield rows
            if len(rows) < CHUNK:
                return
            after = keys(rows[-1])


async def organization_batches(
    conn: asyncpg.Connection, where: OrganizationFilter, sort: str
) -> AsyncIterator[list[dict[str, Any]]]:
    indicators = ", ".join(f"v.\"values\"->'{name}' AS {name}" for name in EXPORT_INDICATORS)

    def query(after: list[Any] | None) -> tuple[str, list[Any]]:
        sql, order, args = where.query(sort, after)
        return f"SELECT {LIST_COLUMNS}, o.epci, {indicators} FROM {WITH_VALUES} WHERE {sql} ORDER BY {order}", args

    if sort == "relevance" and where.q:  # ranked by the text searched, of which few rows match
        batches = _batches(conn, *query(None))
    else:
        batches = _keyset_batches(conn, lambda after: _limited(query(after)), lambda r: sort_keys(dict(r), sort))
    async for rows in batches:
        yield [_decoded(r) for r in rows]


def _limited(query: tuple[str, list[Any]]) -> tuple[str, list[Any]]:
    return f"{query[0]} LIMIT {CHUNK}", query[1]


async def dataset_batches(conn: asyncpg.Connection, where: DatasetFilter) -> AsyncIterator[list[dict[str, Any]]]:
    def query(after: list[Any] | None) -> tuple[str, list[Any]]:
        selection = where.selection()
        if after is not None:
            after_clause(selection.where, DATASET_KEYS, after)
        sql, args = selection.where.built()
        return (
            f"""SELECT d.state, p.title, p.id
                   FROM ({selection.rows()} WHERE {sql}
                         ORDER BY {order_by(DATASET_KEYS)} LIMIT {CHUNK}) p
                   LEFT JOIN registry.datasets d ON d.id = p.id ORDER BY p.title, p.id""",
            args,
        )

    async for rows in _keyset_batches(conn, query, lambda r: [r["title"], r["id"]]):
        yield [json.loads(r["state"]) for r in rows if r["state"]]


def _decoded(row: asyncpg.Record) -> dict[str, Any]:
    return {k: json.loads(v) if k in EXPORT_INDICATORS and v is not None else v for k, v in row.items()}


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
        """SELECT scope_id, "values"->$2 AS value FROM indicators.current_values WHERE scope = $1""", scope, indicator
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
                FROM indicators.organization_list c WHERE c.publishes)
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
            f"SELECT {by} AS code, name FROM registry.organizations WHERE type = ANY($1) AND status = 'active'",
            kinds,
        )
        names = {r["code"]: r["name"] for r in found}
    return [{**dict(r), "label": names.get(r["key"]) if r["key"] else None} for r in rows]


def population_case() -> str:
    branches = [f"WHEN o.population IS NULL THEN '{NO_POPULATION}'"]
    for label, low, high in POPULATION_BOUNDS:
        bound = f"o.population < {high}" if high is not None else "TRUE"
        branches.append(f"WHEN o.population >= {low} AND {bound} THEN '{label}'")
    return "CASE " + " ".join(branches) + " END"
