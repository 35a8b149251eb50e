"""SQL of the registry schema."""

import json
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from shared.events import CanonicalDataset, DatasetDiscovered, DatasetSource, Organization, Publisher
from shared.matching import MatchResult, normalise


@dataclass(frozen=True)
class SourceRecord:
    dataset_id: str
    content_hash: str
    first_seen: datetime


async def get_organizations(conn: asyncpg.Connection, ids: list[str]) -> dict[str, Organization]:
    rows = await conn.fetch("SELECT id, state FROM registry.organizations WHERE id = ANY($1::text[])", ids)
    return {r["id"]: Organization.model_validate_json(r["state"]) for r in rows}


async def save_organizations(conn: asyncpg.Connection, organizations: list[Organization], cause: str) -> None:
    """Upsert the organisations (queryable columns and full state) and record each new state in the history."""
    if not organizations:
        return
    rows = [
        (
            o.id,
            o.siren,
            o.name,
            o.type,
            o.insee_code,
            o.departement,
            o.region,
            o.population,
            o.obligated,
            o.epci,
            o.ept,
            o.council_id,
            o.status,
            o.successor_id,
            o.obligation.method if o.obligation else None,
            o.model_dump_json(),
            normalise(o.name),
        )
        for o in organizations
    ]
    await conn.executemany(
        """INSERT INTO registry.organizations (id, siren, name, type, insee_code, departement, region, population,
               obligated, epci, ept, council_id, status, successor_id, obligation_method, state, search_name)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
           ON CONFLICT (id) DO UPDATE SET siren = $2, name = $3, type = $4, insee_code = $5, departement = $6,
               region = $7, population = $8, obligated = $9, epci = $10, ept = $11, council_id = $12, status = $13,
               successor_id = $14, obligation_method = $15, state = $16, search_name = $17, updated_at = now()""",
        rows,
    )
    await conn.executemany(
        "INSERT INTO registry.organization_history (organization_id, state, cause) VALUES ($1, $2, $3)",
        [(o.id, o.model_dump_json(), cause) for o in organizations],
    )


async def alias_owners(conn: asyncpg.Connection, aliases: list[str]) -> dict[str, str]:
    rows = await conn.fetch(
        "SELECT alias, organization_id FROM registry.aliases WHERE alias = ANY($1::text[])", aliases
    )
    return {r["alias"]: r["organization_id"] for r in rows}


async def set_aliases(conn: asyncpg.Connection, rows: list[tuple[str, str, str]]) -> None:
    """(alias, organization id, kind): an alias always points to one organisation, the latest given."""
    await conn.executemany(
        """INSERT INTO registry.aliases (alias, organization_id, kind) VALUES ($1, $2, $3)
           ON CONFLICT (alias) DO UPDATE SET organization_id = $2, kind = $3""",
        rows,
    )


async def find_alias(conn: asyncpg.Connection, keys: list[str]) -> str | None:
    row = await conn.fetchrow(
        "SELECT organization_id FROM registry.aliases WHERE alias = ANY($1::text[]) "
        "ORDER BY array_position($1::text[], alias) LIMIT 1",
        keys,
    )
    return row["organization_id"] if row else None


async def add_alias(conn: asyncpg.Connection, alias: str, organization_id: str, kind: str) -> None:
    await conn.execute(
        "INSERT INTO registry.aliases (alias, organization_id, kind) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        alias,
        organization_id,
        kind,
    )


async def record_unmatched(
    conn: asyncpg.Connection, portal_url: str, publisher: Publisher, result: MatchResult
) -> None:
    candidates = json.dumps([c.__dict__ for c in result.candidates[:10]])
    await conn.execute(
        """INSERT INTO registry.unmatched_publishers (portal_url, name, remote_id, sightings, reason, candidates)
           VALUES ($1, $2, $3, 1, $4, $5)
           ON CONFLICT (portal_url, name, remote_id)
           DO UPDATE SET sightings = unmatched_publishers.sightings + 1, last_seen = now(), reason = $4,
               candidates = $5, matched_to = NULL""",
        portal_url,
        publisher.name,
        publisher.remote_id or "",
        result.reason,
        candidates,
    )


async def replace_organization_id(conn: asyncpg.Connection, old_id: str, new_id: str) -> None:
    """Point everything that referred to `old_id` to `new_id`; `old_id` becomes an alias."""
    await conn.execute(
        "INSERT INTO registry.organizations (id, name, state) SELECT $2, name, state FROM registry.organizations"
        " WHERE id = $1 ON CONFLICT (id) DO NOTHING",
        old_id,
        new_id,
    )
    await conn.execute("UPDATE registry.datasets SET organization_id = $2 WHERE organization_id = $1", old_id, new_id)
    await conn.execute("UPDATE registry.aliases SET organization_id = $2 WHERE organization_id = $1", old_id, new_id)
    await set_aliases(conn, [(old_id, new_id, "id")])


async def find_source_record(conn: asyncpg.Connection, source_id: str, remote_id: str) -> SourceRecord | None:
    row = await conn.fetchrow(
        "SELECT dataset_id, content_hash, first_seen FROM registry.dataset_sources "
        "WHERE source_id = $1 AND remote_id = $2",
        source_id,
        remote_id,
    )
    return SourceRecord(**dict(row)) if row else None


async def dataset_organization(conn: asyncpg.Connection, dataset_id: str) -> str | None:
    value: str | None = await conn.fetchval("SELECT organization_id FROM registry.datasets WHERE id = $1", dataset_id)
    return value


async def touch_source(conn: asyncpg.Connection, source_id: str, remote_id: str, run_id: str, now: datetime) -> None:
    await conn.execute(
        "UPDATE registry.dataset_sources SET last_seen = $4, last_run_id = $3 WHERE source_id = $1 AND remote_id = $2",
        source_id,
        remote_id,
        run_id,
        now,
    )


async def upsert_dataset(conn: asyncpg.Connection, dataset: CanonicalDataset) -> None:
    await conn.execute(
        """INSERT INTO registry.datasets (id, organization_id, title, description, licence, themes, tags, resources,
               created, modified, withdrawn)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (id) DO UPDATE SET organization_id = $2, title = $3, description = $4, licence = $5,
               themes = $6, tags = $7, resources = $8, created = $9, modified = $10, withdrawn = $11,
               updated_at = now()""",
        dataset.id,
        dataset.organization_id,
        dataset.title,
        dataset.description,
        dataset.licence,
        dataset.themes,
        dataset.tags,
        json.dumps([r.model_dump(mode="json") for r in dataset.resources]),
        dataset.created,
        dataset.modified,
        dataset.withdrawn,
    )


async def upsert_source(conn: asyncpg.Connection, dataset_id: str, event: DatasetDiscovered, now: datetime) -> None:
    await conn.execute(
        """INSERT INTO registry.dataset_sources (source_id, remote_id, dataset_id, portal_kind, portal_url,
               remote_url, content_hash, metadata, last_run_id, first_seen, last_seen)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
           ON CONFLICT (source_id, remote_id) DO UPDATE SET dataset_id = $3, remote_url = $6, content_hash = $7,
               metadata = $8, last_run_id = $9, last_seen = $10""",
        event.source_id,
        event.remote_id,
        dataset_id,
        event.portal_kind,
        event.portal_url,
        event.remote_url,
        event.content_hash,
        event.model_dump_json(exclude={"event_id", "occurred_at", "run_id", "correlation_id"}),
        event.run_id,
        now,
    )


async def sources_of(conn: asyncpg.Connection, dataset_id: str) -> list[DatasetSource]:
    rows = await conn.fetch(
        """SELECT source_id, portal_kind, portal_url, remote_id, remote_url, first_seen, last_seen
           FROM registry.dataset_sources WHERE dataset_id = $1 ORDER BY first_seen, source_id""",
        dataset_id,
    )
    return [DatasetSource(**dict(r)) for r in rows]


async def obligated_counts(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Active organisations per type: how many, how many obligated, how many undecided, and how many
    distinct obligated councils (a council serving several COG entries counts once)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT CASE WHEN grouping(type) = 1 THEN 'total' ELSE coalesce(type, '-') END AS type,
                  count(*) AS organizations,
                  count(*) FILTER (WHERE obligated) AS obligated,
                  count(*) FILTER (WHERE obligated IS NULL) AS unknown,
                  count(DISTINCT coalesce(council_id, id)) FILTER (WHERE obligated) AS obligated_councils,
                  string_agg(DISTINCT obligation_method, ',') AS methods
           FROM registry.organizations WHERE status = 'active'
           GROUP BY GROUPING SETS ((type), ()) ORDER BY grouping(type), type NULLS LAST"""
    )
    return rows
