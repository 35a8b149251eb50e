"""SQL of the registry's organisations: their rows and history, aliases, publishers left unmatched,
and the contributed overrides (of organisations and of datasets)."""

import json

import asyncpg

from services.consolidator.attribution import Unmatched
from services.consolidator.overrides import Override
from shared.events import Organization, Publisher
from shared.matching import normalise


async def get_organizations(conn: asyncpg.Connection, ids: list[str]) -> dict[str, Organization]:
    """The organisations of these ids that exist (the ids joined, as in `alias_owners`)."""
    rows = await conn.fetch(
        "SELECT o.id, o.state FROM unnest($1::text[]) AS k (id) JOIN registry.organizations o USING (id)", ids
    )
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


async def siren_holders(conn: asyncpg.Connection, sirens: list[str]) -> dict[str, str]:
    """SIREN -> the id of the organisation that holds it, for the SIRENs held."""
    rows = await conn.fetch("SELECT siren, id FROM registry.organizations WHERE siren = ANY($1::text[])", sirens)
    return {r["siren"]: r["id"] for r in rows}


async def alias_owners(conn: asyncpg.Connection, aliases: list[str]) -> dict[str, str]:
    """alias -> organisation id, for the aliases known. A référentiel load reads it while it fills the
    table: the aliases given are joined rather than tested with `= ANY($1)`. Planned while the table
    looked empty (before autovacuum analysed it), the ANY form kept a sequential scan for the whole
    load: 30 ms per batch of 500 aliases on average while the table grew to 40,000 rows, against 2 ms
    for the join, which probes the index whatever the statistics say."""
    rows = await conn.fetch(
        "SELECT a.alias, a.organization_id FROM unnest($1::text[]) AS k (alias) JOIN registry.aliases a USING (alias)",
        aliases,
    )
    return {r["alias"]: r["organization_id"] for r in rows}


async def set_aliases(conn: asyncpg.Connection, rows: list[tuple[str, str, str]]) -> None:
    """(alias, organization id, kind): an alias always points to one organisation, the latest given."""
    if not rows:
        return
    await conn.executemany(
        """INSERT INTO registry.aliases (alias, organization_id, kind) VALUES ($1, $2, $3)
           ON CONFLICT (alias) DO UPDATE SET organization_id = $2, kind = $3, updated_at = now()""",
        rows,
    )


async def link_publisher(
    conn: asyncpg.Connection, portal_url: str, publisher: Publisher, organization_id: str
) -> list[str]:
    """A publisher found to be this organisation (a contribution): no longer listed as unmatched, and
    its records that no organisation held now held by it; the datasets of those records."""
    await conn.execute(
        """UPDATE registry.unmatched_publishers SET matched_to = $4
           WHERE portal_url = $1 AND name = $2 AND remote_id = $3""",
        portal_url, publisher.name, publisher.remote_id or "", organization_id,
    )  # fmt: skip
    rows = await conn.fetch(
        """UPDATE registry.dataset_sources
           SET organization_id = $3, attribution = '{"rule": "contribution", "confidence": 1.0}'
           WHERE portal_url = $1 AND metadata->'publisher'->>'name' = $2 AND organization_id IS NULL
           RETURNING dataset_id""",
        portal_url, publisher.name, organization_id,
    )  # fmt: skip
    return sorted({r["dataset_id"] for r in rows})


async def record_unmatched(conn: asyncpg.Connection, unmatched: list[Unmatched]) -> None:
    """Keep unmatched publishers for the moderators, counting their sightings (one statement per batch)."""
    rows: dict[tuple[str, str, str], tuple[str, str, int]] = {}
    for u in unmatched:  # one row per (portal, name, remote id), even if the publishers differ otherwise
        key = (u.portal_url, u.publisher.name, u.publisher.remote_id or "")
        candidates = json.dumps([c._asdict() for c in u.result.candidates[:10]])
        rows[key] = (u.result.reason, candidates, u.sightings + (rows[key][2] if key in rows else 0))
    if not rows:
        return
    rows = dict(sorted(rows.items()))  # the same lock order in every instance
    await conn.execute(
        """INSERT INTO registry.unmatched_publishers (portal_url, name, remote_id, sightings, reason, candidates)
           SELECT p, n, r, s, why, c::jsonb
           FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[]) AS x (p, n, r, s, why, c)
           ON CONFLICT (portal_url, name, remote_id)
           DO UPDATE SET sightings = unmatched_publishers.sightings + excluded.sightings, last_seen = now(),
               reason = excluded.reason, candidates = excluded.candidates, matched_to = NULL""",
        [key[0] for key in rows],
        [key[1] for key in rows],
        [key[2] for key in rows],
        [row[2] for row in rows.values()],
        [row[0] for row in rows.values()],
        [row[1] for row in rows.values()],
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
    await conn.execute(
        "UPDATE registry.aliases SET organization_id = $2, updated_at = now() WHERE organization_id = $1",
        old_id,
        new_id,
    )
    await set_aliases(conn, [(old_id, new_id, "id")])


async def overrides_for(conn: asyncpg.Connection, target: str, ids: list[str]) -> dict[str, list[Override]]:
    rows = await conn.fetch(
        """SELECT target_id, field, value, base_value, contribution_id FROM registry.overrides
           WHERE target = $1 AND target_id = ANY($2::text[]) AND expired_at IS NULL ORDER BY accepted_at""",
        target,
        ids,
    )
    found: dict[str, list[Override]] = {}
    for r in rows:
        found.setdefault(r["target_id"], []).append(
            Override(r["field"], json.loads(r["value"]), json.loads(r["base_value"]), r["contribution_id"])
        )
    return found


async def save_override(conn: asyncpg.Connection, target: str, target_id: str, override: Override) -> None:
    await conn.execute(
        """INSERT INTO registry.overrides (target, target_id, field, value, base_value, contribution_id)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (target, target_id, field) DO UPDATE SET value = $4, base_value = $5, contribution_id = $6,
               accepted_at = now(), expired_at = NULL""",
        target,
        target_id,
        override.field,
        json.dumps(override.value),
        json.dumps(override.base_value),
        override.contribution_id,
    )


async def expire_overrides(conn: asyncpg.Connection, target: str, target_id: str, expired: list[Override]) -> None:
    await conn.executemany(
        """UPDATE registry.overrides SET expired_at = now()
           WHERE target = $1 AND target_id = $2 AND field = $3 AND contribution_id = $4""",
        [(target, target_id, o.field, o.contribution_id) for o in expired],
    )


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
