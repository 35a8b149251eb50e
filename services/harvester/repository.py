"""SQL of the harvest schema: sources, runs, per-item errors, watermarks."""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

SOURCE_COLUMNS = (
    "id, url, family, name, owner_organization, schedule, enabled, departement, removed_at, data_requests_url"
)


@dataclass(frozen=True)
class Source:
    id: str
    url: str
    family: str
    name: str
    owner_organization: str | None = None
    schedule: str = "@daily"
    enabled: bool = True
    departement: str | None = None  # the portal's territory (COG code), when it has one
    removed_at: datetime | None = None  # removed by an operator: lists nothing from then on
    data_requests_url: str | None = None  # where the platform lets the public ask for data (ODF 18)


@dataclass(frozen=True)
class QueuedRun:
    run_id: str
    source: Source
    mode: str
    since: datetime | None


async def add_source(conn: asyncpg.Connection, source: Source, next_run_at: datetime | None = None) -> None:
    """Add a source, or update its description; whether it is paused or removed is an operator's
    decision (`set_paused`, `remove`) that seeding the catalogue again never undoes."""
    await conn.execute(
        """INSERT INTO harvest.sources (id, url, family, name, owner_organization, schedule, enabled, departement,
                                        next_run_at, data_requests_url) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            ON CONFLICT (id) DO UPDATE SET url = $2, family = $3, name = $4, owner_organization = $5,
                schedule = $6, departement = $8, next_run_at = coalesce(harvest.sources.next_run_at, $9),
                data_requests_url = $10""",
        source.id,
        source.url,
        source.family,
        source.name,
        source.owner_organization,
        source.schedule,
        source.enabled,
        source.departement,
        next_run_at,
        source.data_requests_url,
    )


async def set_paused(conn: asyncpg.Connection, source_id: str, paused: bool, next_run_at: datetime | None) -> None:
    """Pause (not scheduled) or resume (scheduled from `next_run_at`; a removed source comes back)."""
    await conn.execute(
        """UPDATE harvest.sources SET enabled = NOT $2,
               removed_at = CASE WHEN $2 THEN removed_at END,
               next_run_at = CASE WHEN $2 THEN next_run_at ELSE $3 END
           WHERE id = $1""",
        source_id,
        paused,
        next_run_at,
    )


async def remove(conn: asyncpg.Connection, source_id: str, now: datetime) -> None:
    """Removed now: scheduled at once, for a run that lists nothing (`schedules.next_run_of_removed`)."""
    await conn.execute(
        "UPDATE harvest.sources SET removed_at = $2, enabled = true, next_run_at = $2 WHERE id = $1", source_id, now
    )


async def move(conn: asyncpg.Connection, source_id: str, url: str) -> None:
    await conn.execute("UPDATE harvest.sources SET url = $2 WHERE id = $1", source_id, url)


async def record_change(
    conn: asyncpg.Connection, source_id: str, action: str, actor: str, detail: dict[str, Any] | None = None
) -> None:
    await conn.execute(
        "INSERT INTO harvest.source_changes (source_id, action, actor, detail) VALUES ($1, $2, $3, $4::jsonb)",
        source_id,
        action,
        actor,
        json.dumps(detail or {}),
    )


async def source_changes(conn: asyncpg.Connection, source_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT action, detail, actor, at FROM harvest.source_changes WHERE source_id = $1 ORDER BY at, id""",
        source_id,
    )
    return [_jsonable({**dict(r), "detail": json.loads(r["detail"])}) for r in rows]


async def source_with_url(conn: asyncpg.Connection, url: str) -> str | None:
    value: str | None = await conn.fetchval("SELECT id FROM harvest.sources WHERE url = $1", url)
    return value


async def get_source(conn: asyncpg.Connection, source_id: str) -> Source | None:
    row = await conn.fetchrow(f"SELECT {SOURCE_COLUMNS} FROM harvest.sources WHERE id = $1", source_id)
    return Source(**dict(row)) if row else None


async def list_sources(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Every source with its last run (status, counts, dates)."""
    rows = await conn.fetch(
        f"""SELECT s.{SOURCE_COLUMNS.replace(", ", ", s.")}, s.next_run_at, w.watermark,
                   r.run_id AS last_run_id, r.status AS last_status, r.mode AS last_mode, r.items_seen AS last_items,
                   r.errors AS last_errors, r.complete AS last_complete, r.started_at AS last_started_at,
                   r.finished_at AS last_finished_at, r.message AS last_message
            FROM harvest.sources s
            LEFT JOIN harvest.watermarks w ON w.source_id = s.id
            LEFT JOIN LATERAL (SELECT * FROM harvest.runs WHERE source_id = s.id ORDER BY requested_at DESC LIMIT 1) r
                ON true
            ORDER BY s.id"""
    )
    return [_jsonable(dict(r)) for r in rows]


async def queue_run(conn: asyncpg.Connection, run_id: str, source_id: str, mode: str, requested_by: str) -> bool:
    """Queue a run; False when this run id was queued before (a redelivered command)."""
    status = await conn.execute(
        """INSERT INTO harvest.runs (run_id, source_id, mode, status, requested_by) VALUES ($1, $2, $3, 'queued', $4)
           ON CONFLICT (run_id) DO NOTHING""",
        run_id,
        source_id,
        mode,
        requested_by,
    )
    return bool(status == "INSERT 0 1")


async def claim_runs(conn: asyncpg.Connection, limit: int) -> list[QueuedRun]:
    """Start up to `limit` queued runs, oldest first, at most one running run per source."""
    rows = await conn.fetch(
        f"""UPDATE harvest.runs r SET status = 'running', started_at = now(), heartbeat_at = now(),
                   since = CASE WHEN r.mode = 'incremental' THEN w.watermark END
            FROM (SELECT q.run_id FROM harvest.runs q
                  WHERE q.status = 'queued'
                    AND NOT EXISTS (SELECT 1 FROM harvest.runs b
                                    WHERE b.source_id = q.source_id AND b.status = 'running')
                  ORDER BY q.requested_at LIMIT $1 FOR UPDATE SKIP LOCKED) picked,
                 harvest.sources s
            LEFT JOIN harvest.watermarks w ON w.source_id = s.id
            WHERE r.run_id = picked.run_id AND s.id = r.source_id
            RETURNING r.run_id, r.mode, r.since, {", ".join("s." + c for c in SOURCE_COLUMNS.split(", "))}""",
        limit,
    )
    runs, seen_sources = [], set()
    for row in rows:
        data = dict(row)
        source = Source(**{c: data[c] for c in SOURCE_COLUMNS.split(", ")})
        if source.id in seen_sources:  # two queued runs of one source claimed together: keep the first
            await conn.execute(
                "UPDATE harvest.runs SET status = 'queued', started_at = NULL WHERE run_id = $1", data["run_id"]
            )
            continue
        seen_sources.add(source.id)
        runs.append(QueuedRun(data["run_id"], source, data["mode"], data["since"]))
    return runs


async def heartbeat(conn: asyncpg.Connection, run_ids: list[str]) -> None:
    await conn.execute("UPDATE harvest.runs SET heartbeat_at = now() WHERE run_id = ANY($1::text[])", run_ids)


async def interrupted_runs(conn: asyncpg.Connection, stale_after_seconds: float) -> list[asyncpg.Record]:
    """Runs left running by a process that stopped (no heartbeat for a while): marked failed."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """UPDATE harvest.runs SET status = 'failed', finished_at = now(), complete = false,
               message = 'interrupted: the harvester stopped during the run'
           WHERE status = 'running' AND heartbeat_at < now() - make_interval(secs => $1)
           RETURNING run_id, source_id, mode, items_seen, errors""",
        stale_after_seconds,
    )
    return rows


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


async def run_started_at(conn: asyncpg.Connection, run_id: str) -> datetime:
    value: datetime = await conn.fetchval("SELECT started_at FROM harvest.runs WHERE run_id = $1", run_id)
    return value


async def set_watermark(conn: asyncpg.Connection, source_id: str, watermark: datetime, full: bool) -> None:
    await conn.execute(
        """INSERT INTO harvest.watermarks (source_id, watermark) VALUES ($1, $2)
           ON CONFLICT (source_id) DO UPDATE SET watermark = greatest(harvest.watermarks.watermark, $2)""",
        source_id,
        watermark,
    )
    if full:
        await conn.execute("UPDATE harvest.sources SET last_full_at = now() WHERE id = $1", source_id)


async def record_item_errors(conn: asyncpg.Connection, run_id: str, errors: list[tuple[str | None, str, str]]) -> None:
    """(remote id, stage, reason) per failed item or page."""
    await conn.executemany(
        "INSERT INTO harvest.item_errors (run_id, remote_id, stage, reason) VALUES ($1, $2, $3, $4)",
        [(run_id, remote_id, stage, reason[:2000]) for remote_id, stage, reason in errors],
    )


async def due_sources(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Enabled sources whose next run is due, with what decides the run's mode; locked for the caller."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT s.id, s.family, s.schedule, s.last_full_at, s.removed_at, w.watermark FROM harvest.sources s
           LEFT JOIN harvest.watermarks w ON w.source_id = s.id
           WHERE s.enabled AND s.next_run_at IS NOT NULL AND s.next_run_at <= now()
           FOR UPDATE OF s SKIP LOCKED"""
    )
    return rows


async def set_next_run(conn: asyncpg.Connection, source_id: str, next_run_at: datetime | None) -> None:
    await conn.execute("UPDATE harvest.sources SET next_run_at = $2 WHERE id = $1", source_id, next_run_at)


async def consecutive_failures(conn: asyncpg.Connection, source_id: str) -> int:
    """How many of the source's latest finished runs failed in a row."""
    value: int = await conn.fetchval(
        """SELECT count(*) FROM harvest.runs WHERE source_id = $1 AND finished_at IS NOT NULL
             AND finished_at > coalesce((SELECT max(finished_at) FROM harvest.runs
                                         WHERE source_id = $1 AND status <> 'failed' AND finished_at IS NOT NULL),
                                        '-infinity')""",
        source_id,
    )
    return value


async def postpone_next_run(conn: asyncpg.Connection, source_id: str, not_before: datetime) -> None:
    """The next run no sooner than `not_before` (a failing source is tried less often)."""
    await conn.execute(
        "UPDATE harvest.sources SET next_run_at = greatest(next_run_at, $2) WHERE id = $1 AND next_run_at IS NOT NULL",
        source_id,
        not_before,
    )


async def list_runs(conn: asyncpg.Connection, source_id: str | None, limit: int) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT run_id, source_id, mode, status, requested_by, requested_at, started_at, finished_at, items_seen,
                  errors, complete, message, since FROM harvest.runs
           WHERE $1::text IS NULL OR source_id = $1 ORDER BY requested_at DESC LIMIT $2""",
        source_id,
        limit,
    )
    return [_jsonable(dict(r)) for r in rows]


async def run_errors(conn: asyncpg.Connection, run_id: str, limit: int = 500) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT remote_id, stage, reason, at FROM harvest.item_errors WHERE run_id = $1 ORDER BY id LIMIT $2",
        run_id,
        limit,
    )
    return [_jsonable(dict(r)) for r in rows]


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


async def get_run(conn: asyncpg.Connection, run_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        """SELECT run_id, source_id, mode, status, requested_by, requested_at, started_at, finished_at, items_seen,
                  errors, complete, message, since FROM harvest.runs WHERE run_id = $1""",
        run_id,
    )
    return _jsonable(dict(row)) if row else None
