"""Read-only SQL over the registry and indicators schemas (the api's role can only SELECT)."""

import json
from typing import Any

import asyncpg


async def organization_card(conn: asyncpg.Connection, id_or_alias: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        """SELECT o.id, o.siren, o.name, o.type, o.insee_code, o.departement, o.region, o.population, o.obligated,
                  v."values" AS indicators, v.computed_at
           FROM registry.organizations o
           LEFT JOIN indicators.current_values v ON v.scope = 'organization' AND v.scope_id = o.id
           WHERE o.id = $1 OR o.siren = $1
              OR o.id = (SELECT organization_id FROM registry.aliases WHERE alias = $1)
           LIMIT 1""",
        id_or_alias,
    )
    if row is None:
        return None
    card = dict(row)
    card["indicators"] = json.loads(card["indicators"]) if card["indicators"] else {}
    computed_at = card.pop("computed_at")
    card["indicators_computed_at"] = computed_at.isoformat() if computed_at else None
    return card
