"""Read-only SQL of an organisation's card: its values and history, territory, council, portals,
reuses and audience."""

import json
from typing import Any

import asyncpg

from services.api.repository import indicator_history

CARD_HISTORY_DAYS = 366  # the card's daily history: the last days its values changed (all: /indicators/history)


async def organization_card(conn: asyncpg.Connection, organization_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        """SELECT o.state, v."values" AS indicators, v.computed_at FROM registry_read.organizations o
           LEFT JOIN indicators_read.current_values v ON v.scope = 'organization' AND v.scope_id = o.id
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
        """SELECT id, name, type, departement, region, siren FROM registry_read.organizations
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
           FROM registry_read.organizations WHERE coalesce(council_id, id) = $1 AND status = 'active'
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
           FROM registry_read.datasets d JOIN registry_read.dataset_sources s ON s.dataset_id = d.id
           WHERE d.organization_id = $1 AND NOT d.withdrawn AND s.withdrawn_at IS NULL
           GROUP BY 1, 2 ORDER BY 3 DESC, 1""",
        organization_id,
    )
    return [dict(r) for r in rows]


CARD_REUSES = 100  # the card's reuses, most datasets used first (their count: the `reuses` indicator)


async def organization_reuses(conn: asyncpg.Connection, organization_id: str) -> list[dict[str, Any]]:
    """The reuses portals list with the organisation's live datasets: title, type, link to the reuse
    and to its page, how many of its datasets each uses."""
    rows = await conn.fetch(
        """SELECT r.key AS id, r.title, r.type, r.url, r.remote_url, count(*) AS datasets
           FROM indicators_read.datasets d CROSS JOIN LATERAL unnest(d.reuses) AS used (key)
           JOIN indicators_read.reuses r ON r.key = used.key
           WHERE d.organization_id = $1 AND NOT d.withdrawn
           GROUP BY r.key, r.title, r.type, r.url, r.remote_url ORDER BY datasets DESC, r.title LIMIT $2""",
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
           FROM indicators_read.datasets d CROSS JOIN LATERAL unnest(d.records) AS live (record)
           JOIN indicators_read.audience a ON a.record = live.record
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
