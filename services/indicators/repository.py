"""SQL of the indicators schema: the projection of the registry, publication summaries, values and history."""

import dataclasses
import json
import operator
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg

from services.indicators.facts import (
    EMPTY,
    TALLIES,
    DatasetFacts,
    OrganizationFacts,
    PlatformFacts,
    Publication,
    Scope,
    Values,
)
from shared.db import affected_rows
from shared.events import AudienceMeasured, Organization, ReuseDiscovered
from shared.matching import normalise, title_words

ORGANIZATION_COLUMNS = "id, name, type, departement, region, epci, population, obligated, council_id, active"
SUMMARY_FORMAT = 5  # counts, the tallies in rows of their own (4: tallies inline; 3: without audience and communes)
DATASET_COLUMNS = (
    "id, organization_id, withdrawn, licence, formats, modified, themes, schemas, portals, technologies, "
    "national, local, records, reuses, audience, communes"
)


async def upsert_organizations(conn: asyncpg.Connection, organizations: list[OrganizationFacts]) -> None:
    await conn.executemany(
        f"""INSERT INTO indicators.organizations ({ORGANIZATION_COLUMNS})
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (id) DO UPDATE SET name = $2, type = $3, departement = $4, region = $5, epci = $6,
               population = $7, obligated = $8, council_id = $9, active = $10""",
        [_organization_row(o) for o in organizations],
    )


# A row in the columns' order. Not asdict: it deep-copies every field, a third of this statement's
# cost in a référentiel load. The names are split once, not for every row.
_organization_row = operator.attrgetter(*ORGANIZATION_COLUMNS.split(", "))


def _of_ids(column: str, ids: list[str] | None) -> tuple[str, tuple[list[str], ...]]:
    """A condition keeping these ids' rows (all: None) and its argument. Not `$1 IS NULL OR column =
    ANY($1)` in one statement: once PostgreSQL planned it for any $1 (a prepared statement's generic
    plan), every call scanned the whole table, 28 ms a batch at 200,000 datasets and five times that
    at a million, the main reason the indicators' rate fell by half (bench.scale, issue 34)."""
    return ("true", ()) if ids is None else (f"{column} = ANY($1::text[])", (ids,))


async def organizations(conn: asyncpg.Connection, ids: list[str] | None = None) -> dict[str, OrganizationFacts]:
    """Every organisation's facts, or those of `ids`."""
    kept, arguments = _of_ids("id", ids)
    rows = await conn.fetch(f"SELECT {ORGANIZATION_COLUMNS} FROM indicators.organizations WHERE {kept}", *arguments)
    return {r["id"]: OrganizationFacts(**dict(r)) for r in rows}


# The organisations list's columns read from an organisation's current values (v).
LISTED_VALUES = """coalesce((v."values"->>'datasets')::int, 0) AS datasets, coalesce(v.publishes, false) AS publishes,
    ARRAY(SELECT substr(k, 12) FROM jsonb_object_keys(v."values") k WHERE k LIKE 'technology:%' ORDER BY 1)
        AS technologies"""


async def list_organizations(conn: asyncpg.Connection, organizations: list[Organization]) -> None:
    """The api's organisations list (indicators.organization_list): the registry's columns of these
    organisations, the active ones listed with their current values, the others taken off."""
    active = [o for o in organizations if o.status == "active"]
    await conn.execute(
        "DELETE FROM indicators.organization_list WHERE id = ANY($1::text[])",
        [o.id for o in organizations if o.status != "active"],
    )
    await conn.executemany(
        """INSERT INTO indicators.organization_list (id, siren, name, search_name, type, insee_code, departement,
               region, epci, population, obligated, council_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (id) DO UPDATE SET siren = $2, name = $3, search_name = $4, type = $5, insee_code = $6,
               departement = $7, region = $8, epci = $9, population = $10, obligated = $11, council_id = $12
           WHERE (organization_list.siren, organization_list.name, organization_list.type,
                  organization_list.insee_code, organization_list.departement, organization_list.region,
                  organization_list.epci, organization_list.population, organization_list.obligated,
                  organization_list.council_id)
                 IS DISTINCT FROM ($2, $3, $5, $6, $7, $8, $9, $10, $11, $12)""",
        [
            (o.id, o.siren, o.name, normalise(o.name), o.type, o.insee_code, o.departement, o.region, o.epci,
             o.population, o.obligated, o.council_id)
            for o in active
        ],
    )  # fmt: skip
    await list_values(conn, [o.id for o in active])


async def list_values(conn: asyncpg.Connection, organization_ids: list[str] | None) -> None:
    """The values the organisations list shows and filters on, as current_values holds them now, for
    these organisations (None: all); rows whose values did not move are left alone."""
    kept, arguments = _of_ids("o.id", organization_ids)
    await conn.execute(
        f"""UPDATE indicators.organization_list l
            SET (datasets, publishes, technologies) = (x.datasets, x.publishes, x.technologies)
            FROM (SELECT o.id, {LISTED_VALUES} FROM indicators.organization_list o
                  LEFT JOIN indicators.current_values v ON v.scope = 'organization' AND v.scope_id = o.id
                  WHERE {kept}) x
            WHERE l.id = x.id AND (l.datasets, l.publishes, l.technologies)
                                  IS DISTINCT FROM (x.datasets, x.publishes, x.technologies)""",
        *arguments,
    )


async def upsert_platforms(conn: asyncpg.Connection, platforms: list[PlatformFacts]) -> None:
    await conn.executemany(
        """INSERT INTO indicators.platforms (url, technology, national) VALUES ($1, $2, $3)
           ON CONFLICT (url) DO UPDATE SET technology = $2, national = $3""",
        [(p.url, p.technology, p.national) for p in platforms],
    )


async def platforms(conn: asyncpg.Connection) -> dict[str, PlatformFacts]:
    rows = await conn.fetch("SELECT url, technology, national FROM indicators.platforms")
    return {r["url"]: PlatformFacts(**dict(r)) for r in rows}


# A batch's facts in one statement (an array of migration 017's type), not one per dataset.
UPSERT_FACTS = f"""
    INSERT INTO indicators.datasets AS d ({DATASET_COLUMNS}, title)
    SELECT {DATASET_COLUMNS}, coalesce(title, '') FROM unnest($1::indicators.dataset_facts[])
    ON CONFLICT (id) DO UPDATE SET {", ".join(f"{c} = excluded.{c}" for c in DATASET_COLUMNS.split(", ")[1:])},
        title = {{title}}"""


async def upsert_datasets(
    conn: asyncpg.Connection, datasets: list[DatasetFacts], titles: Mapping[str, str] | None = None
) -> dict[str, DatasetFacts]:
    """Store the datasets' facts, and their titles when given (the api's datasets list sorts by them);
    return the facts stored before for those already known."""
    rows = await conn.fetch(
        f"SELECT {DATASET_COLUMNS}, title FROM indicators.datasets WHERE id = ANY($1::text[])", [d.id for d in datasets]
    )
    titles = titles or {}
    # Datasets given no title (a reuse's or an audience's change) keep theirs: a statement of their own,
    # since the row a conflict offers (`excluded`) has NOT NULL's '' where the title was not given.
    titled = [d for d in datasets if d.id in titles]
    untitled = [d for d in datasets if d.id not in titles]
    for facts, title in ((titled, "excluded.title"), (untitled, "d.title")):
        if facts:
            await conn.execute(UPSERT_FACTS.format(title=title), [(*_dataset_row(f), titles.get(f.id)) for f in facts])
    before = {r["id"]: _dataset_facts(r) for r in rows}
    title_before = {r["id"]: r["title"] for r in rows}
    # The words of a title carry what the list filters on: written again only where one of those moved.
    await index_title_words(conn, [
        d.id for d in datasets
        if d.id not in before or titles.get(d.id, title_before[d.id]) != title_before[d.id]
        or _listed_columns(d) != _listed_columns(before[d.id])
    ])  # fmt: skip
    return before


def _listed_columns(dataset: DatasetFacts) -> tuple[Any, ...]:
    """What the words of its title carry (migrations 012, 015), and whether it is listed at all."""
    d = dataset
    return d.withdrawn, d.licence, d.modified, tuple(d.formats), tuple(d.schemas)


async def index_title_words(conn: asyncpg.Connection, dataset_ids: list[str] | None) -> None:
    """The words of these datasets' titles (all of them: None), with what the list filters on, as
    their rows say now (migration 012); a withdrawn dataset has none."""
    if dataset_ids == []:
        return
    kept, arguments = _of_ids("id", dataset_ids)
    rows = await conn.fetch(f"SELECT id, title FROM indicators.datasets WHERE NOT withdrawn AND {kept}", *arguments)
    if dataset_ids is None:
        await conn.execute("TRUNCATE indicators.dataset_words")
    else:
        await conn.execute("DELETE FROM indicators.dataset_words WHERE id = ANY($1::text[])", dataset_ids)
    pairs = [(r["id"], word) for r in rows for word in title_words(r["title"])]
    await conn.execute(
        """INSERT INTO indicators.dataset_words (id, word, title, licence, modified, formats, schemas)
           SELECT d.id, w.word, d.title, d.licence, d.modified, d.formats, d.schemas
           FROM unnest($1::text[], $2::text[]) AS w (id, word) JOIN indicators.datasets d ON d.id = w.id""",
        [p[0] for p in pairs],
        [p[1] for p in pairs],
    )


async def upsert_reuses(conn: asyncpg.Connection, reuses: list[ReuseDiscovered]) -> set[str]:
    """Store the reuses; return the records they named before or name now (whose datasets may move)."""
    keys = [r.key() for r in reuses]
    before = await conn.fetch("SELECT records FROM indicators.reuses WHERE key = ANY($1::text[])", keys)
    await conn.executemany(
        """INSERT INTO indicators.reuses (key, source_id, title, type, url, remote_url, records, created, modified)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (key) DO UPDATE SET title = $3, type = $4, url = $5, remote_url = $6, records = $7,
               created = $8, modified = $9, seen_at = now()""",
        [(r.key(), r.source_id, r.title, r.type, r.url, r.remote_url, r.record_keys(), r.created, r.modified)
         for r in reuses],
    )  # fmt: skip
    return {record for row in before for record in row["records"]} | {k for r in reuses for k in r.record_keys()}


# The records asked for, each looked up alone in a GIN index on `records` (`@> ARRAY[record]`). Not
# `records && $1`: with the thousands of records of a batch of audience measures, PostgreSQL compared
# every candidate row's records with the whole list (a sequential scan: 34 s for 20,000 records among
# 200,000 datasets; through the index, its recheck: 5 s), and the batch, timed out, was read again for
# ever (bench.scale, issue 34). One lookup each: 0.25 s.
RECORDS_ASKED = "(SELECT DISTINCT unnest($1::text[])) AS r (record)"


async def reuses_of_records(conn: asyncpg.Connection, records: list[str]) -> dict[str, list[str]]:
    """The reuses naming each of these records."""
    rows = await conn.fetch(
        f"""SELECT r.record, array_agg(u.key ORDER BY u.key) AS reuses
            FROM {RECORDS_ASKED} JOIN indicators.reuses u ON u.records @> ARRAY[r.record] GROUP BY r.record""",
        records,
    )
    return {r["record"]: list(r["reuses"]) for r in rows}


async def datasets_with_records(conn: asyncpg.Connection, records: list[str]) -> dict[str, DatasetFacts]:
    rows = await conn.fetch(
        f"""SELECT DISTINCT ON (d.id) {DATASET_COLUMNS} FROM {RECORDS_ASKED}
            JOIN indicators.datasets d ON d.records @> ARRAY[r.record] ORDER BY d.id""",
        records,
    )
    return {r["id"]: _dataset_facts(r) for r in rows}


async def datasets_of(conn: asyncpg.Connection, organization_ids: list[str]) -> dict[str, list[DatasetFacts]]:
    """Datasets per organisation ('' gathers those of no known organisation)."""
    rows = await conn.fetch(
        f"""SELECT {DATASET_COLUMNS} FROM indicators.datasets
            WHERE coalesce(organization_id, '') = ANY($1::text[])""",
        organization_ids,
    )
    found: dict[str, list[DatasetFacts]] = {i: [] for i in organization_ids}
    for r in rows:
        found[r["organization_id"] or ""].append(_dataset_facts(r))
    return found


def _dataset_facts(row: asyncpg.Record) -> DatasetFacts:
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in dict(row).items() if k != "title"}
    counted = (entry.rpartition("=") for entry in fields["audience"])
    fields["audience"] = tuple((counter, int(count)) for counter, _, count in counted)
    return DatasetFacts(**fields)


def _dataset_row(dataset: DatasetFacts) -> tuple[Any, ...]:
    """Its facts as the columns take them (the audience as "udata:views=120" entries)."""
    fields = {f.name: getattr(dataset, f.name) for f in dataclasses.fields(dataset)}
    fields["audience"] = [f"{counter}={count}" for counter, count in dataset.audience]
    return tuple(_listed(v) for v in fields.values())


async def upsert_audience(conn: asyncpg.Connection, measures: list[AudienceMeasured]) -> list[str]:
    """Keep each record's latest measure; return the records measured."""
    rows = [(f"{m.source_id}:{remote_id}", m.counted_by, json.dumps(counts), m.measured_at)
            for m in measures for remote_id, counts in m.records.items()]  # fmt: skip
    await conn.executemany(
        """INSERT INTO indicators.audience (record, counted_by, metrics, measured_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (record) DO UPDATE SET counted_by = $2, metrics = $3, measured_at = $4
           WHERE indicators.audience.measured_at <= $4""",
        rows,
    )
    return sorted({row[0] for row in rows})


async def audience_of_records(conn: asyncpg.Connection, records: list[str]) -> dict[str, dict[str, int]]:
    """Each record's counters, as "udata:views" -> count."""
    rows = await conn.fetch(
        "SELECT record, counted_by, metrics FROM indicators.audience WHERE record = ANY($1::text[])", records
    )
    return {r["record"]: {f"{r['counted_by']}:{k}": v for k, v in json.loads(r["metrics"]).items()} for r in rows}


async def save_publications(
    conn: asyncpg.Connection, publications: dict[str, Publication], before: Mapping[str, Publication] | None = None
) -> None:
    """Store these publications: their counts, and the keys of their tallies that moved from `before`
    (what is stored now; None: unknown, every key replaced)."""
    await conn.executemany(
        """INSERT INTO indicators.publications (organization_id, summary) VALUES ($1, $2)
           ON CONFLICT (organization_id) DO UPDATE SET summary = $2""",
        [(i, json.dumps(_summary(p))) for i, p in publications.items()],
    )
    if before is None:
        await conn.execute(
            "DELETE FROM indicators.publication_tallies WHERE organization_id = ANY($1::text[])", list(publications)
        )
    moved = [row for owner, p in publications.items()
             for row in tally_changes(owner, before.get(owner, EMPTY) if before is not None else EMPTY, p)]  # fmt: skip
    counted, gone = [r for r in moved if r[3]], [r for r in moved if not r[3]]
    if counted:
        await conn.execute(
            """INSERT INTO indicators.publication_tallies (organization_id, tally, key, count)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
               ON CONFLICT (organization_id, tally, key) DO UPDATE SET count = excluded.count""",
            *_columns(counted, 4),
        )
    if gone:
        await conn.execute(
            """DELETE FROM indicators.publication_tallies t
               USING unnest($1::text[], $2::text[], $3::text[]) AS g (organization_id, tally, key)
               WHERE (t.organization_id, t.tally, t.key) = (g.organization_id, g.tally, g.key)""",
            *_columns(gone, 3),
        )


def tally_changes(owner: str, before: Publication, after: Publication) -> list[tuple[str, str, str, int]]:
    """The tally keys that moved from one publication to the other, with their new counts (0: gone)."""
    changes = []
    for name in TALLIES:
        old, new = getattr(before, name), getattr(after, name)
        changes += [(owner, name, key, new[key]) for key in old.keys() | new.keys() if old[key] != new[key]]
    return changes


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    return [[row[i] for row in rows] for i in range(width)]


async def all_publications(
    conn: asyncpg.Connection, ids: list[str] | None = None
) -> tuple[dict[str, Publication], list[str]]:
    """Every publication summary (or those of `ids`), and the organisations whose summary is in an
    older format (to tally again from their datasets)."""
    kept, arguments = _of_ids("organization_id", ids)
    rows = await conn.fetch(f"SELECT organization_id, summary FROM indicators.publications WHERE {kept}", *arguments)
    tallies: dict[str, list[tuple[str, str, int]]] = {}
    for t in await conn.fetch(
        f"SELECT organization_id, tally, key, count FROM indicators.publication_tallies WHERE {kept}", *arguments
    ):
        tallies.setdefault(t["organization_id"], []).append((t["tally"], t["key"], t["count"]))
    publications, outdated = {}, []
    for row in rows:
        summary = json.loads(row["summary"])
        if summary.get("format") == SUMMARY_FORMAT:
            publications[row["organization_id"]] = _publication(summary, tallies.get(row["organization_id"], []))
        else:
            outdated.append(row["organization_id"])
    return publications, outdated


async def all_organization_ids_with_datasets(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch("SELECT DISTINCT coalesce(organization_id, '') AS id FROM indicators.datasets")
    return [r["id"] for r in rows]


async def save_values(conn: asyncpg.Connection, values: dict[Scope, Values], computed_at: datetime) -> list[Scope]:
    """Store the values of each scope and today's snapshot; return the scopes whose values changed."""
    rows = await conn.fetch(
        """SELECT v.scope, v.scope_id, v."values" FROM indicators.current_values v
           JOIN unnest($1::text[], $2::text[]) AS s (scope, scope_id) USING (scope, scope_id)""",
        [s for s, _ in values],
        [i for _, i in values],
    )
    current = {(r["scope"], r["scope_id"]): json.loads(r["values"]) for r in rows}
    changed = [scope for scope, v in values.items() if current.get(scope) != v]
    if not changed:
        return []
    payloads = [json.dumps(values[scope]) for scope in changed]
    await conn.execute(
        """INSERT INTO indicators.current_values (scope, scope_id, "values", computed_at)
           SELECT s, i, v::jsonb, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS x (s, i, v)
           ON CONFLICT (scope, scope_id) DO UPDATE SET "values" = excluded."values", computed_at = $4""",
        [s for s, _ in changed],
        [i for _, i in changed],
        payloads,
        computed_at,
    )
    await conn.execute(
        """INSERT INTO indicators.snapshots (day, scope, scope_id, "values")
           SELECT $4, s, i, v::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) AS x (s, i, v)
           ON CONFLICT (scope, scope_id, day) DO UPDATE SET "values" = excluded."values\"""",
        [s for s, _ in changed],
        [i for _, i in changed],
        payloads,
        computed_at.date(),
    )
    return changed


async def take_edition(conn: asyncpg.Connection, year: int, taken_at: datetime) -> int:
    """Keep every scope's current values as the year's edition (again if asked again); return how many."""
    status = await conn.execute(
        """INSERT INTO indicators.editions (year, scope, scope_id, "values", taken_at)
           SELECT $1, scope, scope_id, "values", $2 FROM indicators.current_values
           ON CONFLICT (scope, scope_id, year) DO UPDATE SET "values" = excluded."values", taken_at = $2""",
        year,
        taken_at,
    )
    return affected_rows(status)


async def last_edition_publishers(conn: asyncpg.Connection) -> tuple[int, list[str]] | None:
    """The last edition's year and the organisations that published then, if an edition exists."""
    row = await conn.fetchrow(
        """SELECT year, array_agg(scope_id) FILTER (WHERE ("values"->>'publishes')::int = 1) AS publishing
           FROM indicators.editions WHERE scope = 'organization'
             AND year = (SELECT max(year) FROM indicators.editions) GROUP BY year"""
    )
    return (int(row["year"]), list(row["publishing"] or [])) if row else None


async def has_edition(conn: asyncpg.Connection, year: int) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM indicators.editions WHERE year = $1)", year))


def _listed(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _summary(publication: Publication) -> dict[str, Any]:
    """Its counts (its tallies are rows of their own: `tally_changes`)."""
    counts = {f.name: getattr(publication, f.name) for f in dataclasses.fields(publication) if f.name not in TALLIES}
    return {"format": SUMMARY_FORMAT, **counts}


def _publication(summary: dict[str, Any], tallies: list[tuple[str, str, int]]) -> Publication:
    counters: dict[str, Counter[str]] = {name: Counter() for name in TALLIES}
    for name, key, count in tallies:
        counters[name][key] = count
    counts = {k: v for k, v in summary.items() if k != "format"}
    return Publication(**counts, **counters)  # type: ignore[arg-type]  # mypy: two ** of two types


KEPT_CHANGES = 10_000  # versions whose changes are kept: an instance further behind reloads everything


async def projection_version(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT version FROM indicators.projection_version"))


async def bump_projection_version(conn: asyncpg.Connection, organization_ids: list[str] | None) -> int:
    """The next version, recorded with the organisations it changed (None: all of them)."""
    version = int(
        await conn.fetchval("UPDATE indicators.projection_version SET version = version + 1 RETURNING version")
    )
    await conn.execute(
        "INSERT INTO indicators.projection_changes (version, organization_ids) VALUES ($1, $2)",
        version,
        organization_ids,
    )
    await conn.execute("DELETE FROM indicators.projection_changes WHERE version <= $1", version - KEPT_CHANGES)
    return version


async def changed_since(conn: asyncpg.Connection, version: int, current: int) -> set[str] | None:
    """The organisations changed after `version` up to `current`, or None when that cannot be told
    (a change of everything, or changes no longer kept): then everything is reloaded."""
    rows = await conn.fetch(
        "SELECT organization_ids FROM indicators.projection_changes WHERE version > $1 AND version <= $2",
        version,
        current,
    )
    if len(rows) != current - version or any(r["organization_ids"] is None for r in rows):
        return None
    return {i for r in rows for i in r["organization_ids"]}
