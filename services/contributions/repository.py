"""SQL of the contributions schema: the registry as contributions see it, proposals, the audit log."""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from shared.events import CanonicalDataset, Organization


@dataclass(frozen=True)
class Proposal:
    id: UUID
    field: str
    value: Any
    organization_id: str | None
    dataset_id: str | None
    publisher: dict[str, Any] | None
    comment: str | None
    status: str  # pending, accepted, rejected, spam
    submitted_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    decision_comment: str | None = None

    def public(self) -> dict[str, Any]:
        """What anyone holding the proposal's reference may read (not who sent it)."""
        return {
            "id": str(self.id), "field": self.field, "value": self.value, "organization_id": self.organization_id,
            "dataset_id": self.dataset_id, "publisher": self.publisher, "comment": self.comment,
            "status": self.status, "submitted_at": self.submitted_at.isoformat(),
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "decision_comment": self.decision_comment,
        }  # fmt: skip


COLUMNS = """id, field, value, organization_id, dataset_id, publisher, comment, status, submitted_at, decided_at,
    decided_by, decision_comment"""


def _proposal(row: asyncpg.Record) -> Proposal:
    values = dict(row)
    values["value"] = json.loads(values["value"])
    values["publisher"] = json.loads(values["publisher"]) if values["publisher"] else None
    return Proposal(**values)


async def upsert_known_organizations(conn: asyncpg.Connection, organizations: list[Organization]) -> None:
    await conn.executemany(
        """INSERT INTO contributions.known_organizations (id, name, organization) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET name = $2, organization = $3, updated_at = now()""",
        [(o.id, o.name, o.model_dump_json()) for o in organizations],
    )


async def upsert_known_datasets(conn: asyncpg.Connection, datasets: list[CanonicalDataset]) -> None:
    rows = [(d.id, d.organization_id, json.dumps({"title": d.title, "description": d.description,
                                                  "licence": d.licence, "organization_id": d.organization_id}))
            for d in datasets]  # fmt: skip
    await conn.executemany(
        """INSERT INTO contributions.known_datasets (id, organization_id, dataset) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET organization_id = $2, dataset = $3""",
        rows,
    )


async def organization(conn: asyncpg.Connection, organization_id: str) -> dict[str, Any] | None:
    return (await organizations(conn, [organization_id])).get(organization_id)


async def organization_with_siren(conn: asyncpg.Connection, siren: str) -> str | None:
    return await conn.fetchval(  # type: ignore[no-any-return]
        """SELECT id FROM contributions.known_organizations
           WHERE id = $1 OR organization->>'siren' = $1 ORDER BY id = $1 DESC LIMIT 1""",
        siren,
    )


async def organizations(conn: asyncpg.Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The organisations the service knows among `ids` (the registry's record, else id and name), by id."""
    rows = await conn.fetch(
        "SELECT id, coalesce(organization, jsonb_build_object('id', id, 'name', name)) AS organization "
        "FROM contributions.known_organizations WHERE id = ANY($1::text[])",
        ids,
    )
    return {row["id"]: json.loads(row["organization"]) for row in rows}


async def datasets(conn: asyncpg.Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    rows = await conn.fetch("SELECT id, dataset FROM contributions.known_datasets WHERE id = ANY($1::text[])", ids)
    return {row["id"]: json.loads(row["dataset"]) for row in rows}


async def dataset(conn: asyncpg.Connection, dataset_id: str) -> dict[str, Any] | None:
    return (await datasets(conn, [dataset_id])).get(dataset_id)


async def add_proposal(conn: asyncpg.Connection, proposal: Proposal, client_hash: str) -> None:
    await conn.execute(
        """INSERT INTO contributions.proposals (id, field, value, organization_id, dataset_id, publisher, comment,
                                                status, submitted_at, client_hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        proposal.id, proposal.field, json.dumps(proposal.value), proposal.organization_id, proposal.dataset_id,
        json.dumps(proposal.publisher) if proposal.publisher else None, proposal.comment, proposal.status,
        proposal.submitted_at, client_hash,
    )  # fmt: skip


async def get_proposal(conn: asyncpg.Connection, proposal_id: UUID, for_update: bool = False) -> Proposal | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM contributions.proposals WHERE id = $1{lock}", proposal_id)
    return _proposal(row) if row else None


async def list_proposals(
    conn: asyncpg.Connection, status: str | None, field: str | None, organization_id: str | None, page: int, size: int
) -> tuple[list[Proposal], int]:
    where = """($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR field = $2)
               AND ($3::text IS NULL OR organization_id = $3)"""
    total = await conn.fetchval(f"SELECT count(*) FROM contributions.proposals WHERE {where}", status, field,
                                organization_id)  # fmt: skip
    rows = await conn.fetch(
        f"""SELECT {COLUMNS} FROM contributions.proposals WHERE {where}
            ORDER BY submitted_at, id LIMIT $4 OFFSET $5""",
        status, field, organization_id, size, (page - 1) * size,
    )  # fmt: skip
    return [_proposal(r) for r in rows], int(total)


async def decide(
    conn: asyncpg.Connection, proposal_id: UUID, status: str, moderator: str, comment: str | None
) -> Proposal:
    row = await conn.fetchrow(
        f"""UPDATE contributions.proposals SET status = $2, decided_at = now(), decided_by = $3, decision_comment = $4
            WHERE id = $1 RETURNING {COLUMNS}""",
        proposal_id, status, moderator, comment,
    )  # fmt: skip
    return _proposal(row)


async def audit(
    conn: asyncpg.Connection, actor: str, role: str | None, action: str, proposal_id: UUID, comment: str | None
) -> None:
    await conn.execute(
        """INSERT INTO contributions.audit_log (actor, role, action, proposal_id, comment)
           VALUES ($1, $2, $3, $4, $5)""",
        actor, role, action, proposal_id, comment,
    )  # fmt: skip


async def audit_log(conn: asyncpg.Connection, proposal_id: UUID | None, limit: int) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT id, at, actor, role, action, proposal_id, comment FROM contributions.audit_log
           WHERE $1::uuid IS NULL OR proposal_id = $1 ORDER BY id DESC LIMIT $2""",
        proposal_id, limit,
    )  # fmt: skip
    return [{**dict(r), "at": r["at"].isoformat(), "proposal_id": str(r["proposal_id"])} for r in rows]


async def client_hash_key(conn: asyncpg.Connection) -> str:
    return str(await conn.fetchval("SELECT value FROM contributions.secrets WHERE name = 'client_hash_key'"))


async def take_submission_slot(conn: asyncpg.Connection, client: str, limit: int, window: timedelta) -> float:
    """0 when the client may submit now (and the submission is counted), else the seconds to wait.
    One transaction per client at a time (an advisory lock on its hash): two instances receiving the
    same client's proposals at once cannot both take the last place."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", client)
        await conn.execute(
            "DELETE FROM contributions.submissions WHERE client_hash = $1 AND at <= now() - $2::interval",
            client, window,
        )  # fmt: skip
        oldest, count = await conn.fetchrow(
            "SELECT min(at), count(*) FROM contributions.submissions WHERE client_hash = $1", client
        )
        if count >= limit:
            waited = await conn.fetchval(
                "SELECT extract(epoch FROM $1::timestamptz + $2::interval - now())", oldest, window
            )
            return max(float(waited), 0.001)
        await conn.execute("INSERT INTO contributions.submissions (client_hash) VALUES ($1)", client)
        # Clients that never come back: each submission takes away a few rows past the window.
        await conn.execute(
            """DELETE FROM contributions.submissions WHERE ctid = ANY (ARRAY(
                   SELECT ctid FROM contributions.submissions WHERE at <= now() - $1::interval LIMIT 10))""",
            window,
        )
        return 0.0
