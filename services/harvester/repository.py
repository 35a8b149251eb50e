"""SQL of the harvest schema: sources, runs, per-item errors."""

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class Source:
    id: str
    url: str
    family: str
    name: str
    owner_organization: str | None = None
    schedule: str = "@daily"
    enabled: bool = True


async def add_source(conn: asyncpg.Connection, source: Source) -> None:
    await conn.execute(
        """INSERT INTO harvest.sources (id, url, family, name, owner_organization, schedule, enabled)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (id) DO UPDATE SET url = $2, family = $3, name = $4, owner_organization = $5,
               schedule = $6, enabled = $7""",
        source.id,
        source.url,
        source.family,
        source.name,
        source.owner_organization,
        source.schedule,
        source.enabled,
    )


async def get_source(conn: asyncpg.Connection, source_id: str) -> Source | None:
    row = await conn.fetchrow(
        "SELECT id, url, family, name, owner_organization, schedule, enabled FROM harvest.sources WHERE id = $1",
        source_id,
    )
    return Source(**dict(row)) if row else None


async def list_sources(conn: asyncpg.Connection) -> list[Source]:
    rows = await conn.fetch(
        "SELECT id, url, family, name, owner_organization, schedule, enabled FROM harvest.sources ORDER BY id"
    )
    return [Source(**dict(r)) for r in rows]


async def start_run(conn: asyncpg.Connection, run_id: str, source_id: str, mode: str) -> None:
    await conn.execute(
        "INSERT INTO harvest.runs (run_id, source_id, mode, status) VALUES ($1, $2, $3, 'running')",
        run_id,
        source_id,
        mode,
    )


async def finish_run(
    conn: asyncpg.Connection,
    run_id: str,
    status: str,
    items_seen: int,
    errors: int,
    complete: bool,
    message: str | None,
) -> None:
    await conn.execute(
        """UPDATE harvest.runs SET status = $2, items_seen = $3, errors = $4, complete = $5, message = $6,
               finished_at = now() WHERE run_id = $1""",
        run_id,
        status,
        items_seen,
        errors,
        complete,
        message,
    )


async def record_item_error(
    conn: asyncpg.Connection, run_id: str, remote_id: str | None, stage: str, reason: str
) -> None:
    await conn.execute(
        "INSERT INTO harvest.item_errors (run_id, remote_id, stage, reason) VALUES ($1, $2, $3, $4)",
        run_id,
        remote_id,
        stage,
        reason[:2000],
    )
