"""SQL of the registry's datasets: portal records, identity keys, canonical datasets with their history,
and the harvest runs accounted for withdrawals (organisations: organization_repository.py)."""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from services.consolidator.datasets import PortalRecord
from shared.db import columns
from shared.events import CanonicalDataset, DatasetDiscovered, DocumentRef, HarvestRunFinished


@dataclass(frozen=True)
class KnownRecord:
    """What the registry remembers of a portal record, to decide whether a new sighting changes anything."""

    dataset_id: str
    content_hash: str
    organization_id: str | None
    missing_since: datetime | None
    withdrawn_at: datetime | None
    seen_at: datetime | None  # when the sighting it holds was made, in which run
    last_run_id: str | None


@dataclass(frozen=True)
class RecordUpdate:
    event: DatasetDiscovered
    dataset_id: str
    origin: bool
    organization_id: str | None
    attribution: dict[str, Any] | None
    new: bool = False  # not stored yet (read under lock_identities): copied in rather than upserted


@dataclass(frozen=True)
class DatasetChange:
    dataset: CanonicalDataset
    state: str  # its JSON
    state_hash: str
    change: str  # created, updated, withdrawn


@dataclass(frozen=True)
class DatasetState:
    state_hash: str | None
    withdrawn: bool


@dataclass(frozen=True)
class HarvestRun:
    run_id: str
    source_id: str
    consolidated: int
    expected: int | None
    complete: bool | None
    mode: str | None
    errors: int | None
    error_remote_ids: list[str]
    started_at: datetime | None
    finished_at: datetime | None


async def known_records(conn: asyncpg.Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], KnownRecord]:
    if not keys:  # under the identity lock, a batch of new records only: nothing to read again
        return {}
    rows = await conn.fetch(
        """SELECT s.source_id, s.remote_id, s.dataset_id, s.content_hash, s.organization_id, s.missing_since,
                  s.withdrawn_at, s.seen_at, s.last_run_id
           FROM registry.dataset_sources s
           JOIN unnest($1::text[], $2::text[]) AS k (source_id, remote_id) USING (source_id, remote_id)""",
        [k[0] for k in keys],
        [k[1] for k in keys],
    )
    return {
        (r["source_id"], r["remote_id"]): KnownRecord(
            dataset_id=r["dataset_id"],
            content_hash=r["content_hash"],
            organization_id=r["organization_id"],
            missing_since=r["missing_since"],
            withdrawn_at=r["withdrawn_at"],
            seen_at=r["seen_at"],
            last_run_id=r["last_run_id"],
        )
        for r in rows
    }


async def touch_records(conn: asyncpg.Connection, events: list[DatasetDiscovered], now: datetime) -> None:
    """Seen again, unchanged."""
    if not events:
        return
    await conn.execute(
        """UPDATE registry.dataset_sources s SET last_seen = $5, seen_at = k.seen_at, last_run_id = k.run_id
           FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[])
               AS k (source_id, remote_id, seen_at, run_id)
           WHERE s.source_id = k.source_id AND s.remote_id = k.remote_id""",
        *columns(events, "source_id", "remote_id", "occurred_at", "run_id"),
        now,
    )


def key_digest(key: str) -> UUID:
    """A key as `dataset_keys` stores it: the first 16 bytes of the SHA-256 of its text (migration 012
    converted the stored texts with the same function)."""
    return UUID(bytes=hashlib.sha256(key.encode()).digest()[:16])


async def datasets_by_key(conn: asyncpg.Connection, keys: list[str]) -> dict[str, str]:
    if not keys:  # a batch of records seen again unchanged: nothing to look up
        return {}
    key_of = {key_digest(k): k for k in keys}
    rows = await conn.fetch(
        """SELECT k.key, coalesce(m.survivor, k.dataset_id) AS dataset_id
           FROM registry.dataset_keys k LEFT JOIN registry.merged_datasets m ON m.absorbed = k.dataset_id
           WHERE k.key = ANY($1::uuid[])""",
        list(key_of),
    )
    return {key_of[r["key"]]: r["dataset_id"] for r in rows}


async def merge_datasets(conn: asyncpg.Connection, merges: dict[str, str]) -> None:
    """absorbed id -> survivor id: the absorbed datasets' records move to the survivor; their keys stay
    and lead there through `merged_datasets`, as do those of the datasets they had absorbed."""
    if not merges:
        return
    pairs = (list(merges), list(merges.values()))
    await conn.execute(
        """UPDATE registry.dataset_sources s SET dataset_id = m.survivor
           FROM unnest($1::text[], $2::text[]) AS m (absorbed, survivor) WHERE s.dataset_id = m.absorbed""",
        *pairs,
    )
    await conn.execute(
        """UPDATE registry.merged_datasets d SET survivor = m.survivor
           FROM unnest($1::text[], $2::text[]) AS m (absorbed, survivor) WHERE d.survivor = m.absorbed""",
        *pairs,
    )
    await conn.execute(
        """INSERT INTO registry.merged_datasets (absorbed, survivor)
           SELECT * FROM unnest($1::text[], $2::text[]) ORDER BY 1
           ON CONFLICT (absorbed) DO UPDATE SET survivor = excluded.survivor, merged_at = now()""",
        *pairs,
    )


async def save_keys(conn: asyncpg.Connection, pairs: list[tuple[str, str]]) -> None:
    """(key, dataset id) of keys no dataset holds: those the batch's records gave that were not stored
    when read under lock_identities, so none can be claimed meanwhile. COPYed in: an upsert would
    check each for a conflict (a speculative insertion), and a key stays with the first dataset that
    claimed it anyway."""
    if pairs:
        await conn.copy_records_to_table(
            "dataset_keys",
            schema_name="registry",
            columns=["key", "dataset_id"],
            records=[(key_digest(key), dataset_id) for key, dataset_id in pairs],
        )


RECORD_ENVELOPE = {"event_id", "occurred_at", "run_id", "correlation_id", "producer"}  # not the record's metadata
RECORD_COLUMNS = [
    "source_id", "remote_id", "dataset_id", "portal_kind", "portal_url", "remote_url", "content_hash", "metadata",
    "last_run_id", "first_seen", "last_seen", "seen_at", "origin", "organization_id", "attribution",
]  # fmt: skip


async def save_records(conn: asyncpg.Connection, updates: list[RecordUpdate], now: datetime) -> None:
    """Store portal records: the new ones COPYed in, the others updated (a record seen again is no
    longer missing nor withdrawn)."""
    new = [u for u in updates if u.new]
    if new:
        rows = [
            (e.source_id, e.remote_id, u.dataset_id, e.portal_kind, e.portal_url, e.remote_url, e.content_hash,
             e.model_dump_json(exclude=RECORD_ENVELOPE), e.run_id, now, now, e.occurred_at, u.origin,
             u.organization_id, json.dumps(u.attribution) if u.attribution else None)
            for u in new
            for e in (u.event,)
        ]  # fmt: skip
        await conn.copy_records_to_table(
            "dataset_sources", schema_name="registry", columns=RECORD_COLUMNS, records=rows
        )
    await _update_records(conn, [u for u in updates if not u.new], now)


async def _update_records(conn: asyncpg.Connection, updates: list[RecordUpdate], now: datetime) -> None:
    if not updates:
        return
    events = [u.event for u in updates]
    await conn.execute(
        """INSERT INTO registry.dataset_sources (source_id, remote_id, dataset_id, portal_kind, portal_url,
               remote_url, content_hash, metadata, last_run_id, first_seen, last_seen, seen_at, origin,
               organization_id, attribution)
           SELECT r.source_id, r.remote_id, r.dataset_id, r.portal_kind, r.portal_url, r.remote_url, r.content_hash,
                  r.metadata::json, r.run_id, $14, $14, r.seen_at, r.origin, r.organization_id, r.attribution::jsonb
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                       $8::text[], $9::text[], $10::timestamptz[], $11::boolean[], $12::text[], $13::text[])
                AS r (source_id, remote_id, dataset_id, portal_kind, portal_url, remote_url, content_hash, metadata,
                      run_id, seen_at, origin, organization_id, attribution)
           ON CONFLICT (source_id, remote_id) DO UPDATE SET remote_url = excluded.remote_url,
               content_hash = excluded.content_hash, metadata = excluded.metadata, last_run_id = excluded.last_run_id,
               last_seen = excluded.last_seen, seen_at = excluded.seen_at, origin = excluded.origin,
               organization_id = excluded.organization_id, attribution = excluded.attribution,
               missing_since = NULL, withdrawn_at = NULL""",
        *columns(events, "source_id", "remote_id"),
        [u.dataset_id for u in updates],
        *columns(events, "portal_kind", "portal_url", "remote_url", "content_hash"),
        [e.model_dump_json(exclude=RECORD_ENVELOPE) for e in events],
        *columns(events, "run_id", "occurred_at"),
        *columns(updates, "origin", "organization_id"),
        [json.dumps(u.attribution) if u.attribution else None for u in updates],
        now,
    )


IDENTITY_LOCK = 0x0B5E1D  # the advisory lock of the datasets' identities (any constant no other lock uses)


async def lock_identities(conn: asyncpg.Connection) -> None:
    """One consolidator instance at a time decides which dataset records join, until it commits.

    A record's dataset follows from every key and merge committed before it: an instance that read
    the keys while another merged datasets, or claimed the same keys, would group records otherwise
    than one instance does (a record left in a dataset merged away a moment before). Publisher
    matching, the costly part of a batch, and records seen again unchanged (most of a re-harvest) are
    handled before this lock, in parallel."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", IDENTITY_LOCK)


async def lock_datasets(conn: asyncpg.Connection, dataset_ids: list[str]) -> None:
    """Serialise work on these datasets across consolidator instances until the transaction ends: an
    instance recomputing a dataset then sees the records another one committed for it. Taken in one
    sorted pass, so two instances never wait for each other in a circle."""
    await conn.execute(
        """SELECT pg_advisory_xact_lock(h)
           FROM (SELECT DISTINCT hashtextextended(i, 0) AS h FROM unnest($1::text[]) AS i ORDER BY 1) AS sorted""",
        dataset_ids,
    )


async def records_of(conn: asyncpg.Connection, dataset_ids: list[str]) -> dict[str, list[PortalRecord]]:
    rows = await conn.fetch(
        """SELECT dataset_id, source_id, remote_id, portal_kind, portal_url, remote_url, origin, organization_id,
                  attribution, metadata, first_seen, last_seen, withdrawn_at
           FROM registry.dataset_sources WHERE dataset_id = ANY($1::text[])""",
        dataset_ids,
    )
    records: dict[str, list[PortalRecord]] = {}
    for r in rows:
        records.setdefault(r["dataset_id"], []).append(
            PortalRecord(
                source_id=r["source_id"],
                remote_id=r["remote_id"],
                portal_kind=r["portal_kind"],
                portal_url=r["portal_url"],
                remote_url=r["remote_url"],
                origin=r["origin"],
                organization_id=r["organization_id"],
                attribution=json.loads(r["attribution"]) if r["attribution"] else None,
                metadata=json.loads(r["metadata"]),
                first_seen=r["first_seen"],
                last_seen=r["last_seen"],
                withdrawn_at=r["withdrawn_at"],
            )
        )
    return records


async def dataset_states(conn: asyncpg.Connection, dataset_ids: list[str]) -> dict[str, DatasetState]:
    rows = await conn.fetch(
        "SELECT id, state_hash, withdrawn FROM registry.datasets WHERE id = ANY($1::text[])", dataset_ids
    )
    return {r["id"]: DatasetState(r["state_hash"], r["withdrawn"]) for r in rows}


async def get_dataset(conn: asyncpg.Connection, dataset_id: str) -> CanonicalDataset | None:
    state = await conn.fetchval("SELECT state FROM registry.datasets WHERE id = $1", dataset_id)
    return CanonicalDataset.model_validate_json(state) if state else None


DATASET_COLUMNS = ["id", "organization_id", "withdrawn", "state", "state_hash", "change", "cause"]


async def save_datasets(conn: asyncpg.Connection, changes: list[DatasetChange], cause: str | None) -> None:
    """Store the canonical datasets: those created COPYed in (none was stored when read under their
    locks), the others updated, their replaced states moved to their past states."""
    created = [c for c in changes if c.change == "created"]
    if created:
        rows = [
            (c.dataset.id, c.dataset.organization_id, c.dataset.withdrawn, c.state, c.state_hash, c.change, cause)
            for c in created
        ]
        await conn.copy_records_to_table("datasets", schema_name="registry", columns=DATASET_COLUMNS, records=rows)
    await _update_datasets(conn, [c for c in changes if c.change != "created"], cause)


async def _update_datasets(conn: asyncpg.Connection, changes: list[DatasetChange], cause: str | None) -> None:
    """Update the canonical datasets (each was read under its lock: it is stored), moving the states
    they replace to their past states. (The statement's parts all see the table as it was before it:
    `past` reads the states being replaced.) An UPDATE, not an upsert: no speculative insertion."""
    if not changes:
        return
    datasets = [c.dataset for c in changes]
    await conn.execute(
        """WITH d AS (SELECT * FROM unnest($1::text[], $2::text[], $3::boolean[], $4::json[], $5::text[], $6::text[])
                      AS x (id, organization_id, withdrawn, state, state_hash, change)),
           past AS (
               INSERT INTO registry.dataset_past_states (dataset_id, change, state, state_hash, cause, changed_at)
               SELECT o.id, o.change, o.state, o.state_hash, o.cause, o.updated_at
               FROM registry.datasets o JOIN d USING (id)
               WHERE o.state IS NOT NULL)
           UPDATE registry.datasets o SET organization_id = d.organization_id, withdrawn = d.withdrawn,
               state = d.state, state_hash = d.state_hash, change = d.change, cause = $7, updated_at = now()
           FROM d WHERE o.id = d.id""",
        *columns(datasets, "id", "organization_id", "withdrawn"),
        [c.state for c in changes],
        [c.state_hash for c in changes],
        [c.change for c in changes],
        cause,
    )


async def count_consolidated(conn: asyncpg.Connection, counts: dict[tuple[str, str], int]) -> None:
    """(run id, source id) -> datasets of that run consolidated in this transaction. One statement,
    rows in run id order: the same lock order in every instance."""
    if not counts:
        return
    await conn.execute(
        """INSERT INTO registry.harvest_runs (run_id, source_id, consolidated)
           SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) ORDER BY 1
           ON CONFLICT (run_id) DO UPDATE SET consolidated = harvest_runs.consolidated + excluded.consolidated""",
        [run_id for run_id, _ in counts],
        [source_id for _, source_id in counts],
        list(counts.values()),
    )


async def record_finished_run(conn: asyncpg.Connection, run: HarvestRunFinished) -> None:
    await conn.execute(
        """INSERT INTO registry.harvest_runs (run_id, source_id, expected, status, complete, mode, errors,
               error_remote_ids, started_at, finished_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (run_id) DO UPDATE SET expected = $3, status = $4, complete = $5, mode = $6, errors = $7,
               error_remote_ids = $8, started_at = $9, finished_at = $10""",
        run.run_id,
        run.source_id,
        run.items_seen,
        run.status,
        run.complete,
        run.mode,
        run.errors,
        run.error_remote_ids,
        run.started_at,
        run.occurred_at,
    )


async def runs_to_account(conn: asyncpg.Connection, run_ids: list[str]) -> list[HarvestRun]:
    """Runs among these whose every dataset is consolidated and whose withdrawals are not applied yet."""
    rows = await conn.fetch(
        """SELECT run_id, source_id, consolidated, expected, complete, mode, errors, error_remote_ids, started_at,
                  finished_at
           FROM registry.harvest_runs
           WHERE run_id = ANY($1::text[]) AND expected IS NOT NULL AND consolidated >= expected
             AND withdrawals_at IS NULL
           ORDER BY finished_at FOR UPDATE""",
        run_ids,
    )
    return [HarvestRun(**dict(r)) for r in rows]


async def withdraw_missing(conn: asyncpg.Connection, run: HarvestRun, grace: timedelta) -> list[str]:
    """Records of the run's source it did not see become missing; those missing for longer than the
    grace period are withdrawn. Returns the datasets whose records were withdrawn."""
    assert run.started_at is not None and run.finished_at is not None
    await conn.execute(
        """UPDATE registry.dataset_sources SET missing_since = $3
           WHERE source_id = $1 AND seen_at < $2 AND missing_since IS NULL AND withdrawn_at IS NULL
             AND NOT (remote_id = ANY($4::text[]))""",
        run.source_id,
        run.started_at,
        run.finished_at,
        run.error_remote_ids,
    )
    rows = await conn.fetch(
        """UPDATE registry.dataset_sources SET withdrawn_at = $3
           WHERE source_id = $1 AND seen_at < $2 AND withdrawn_at IS NULL
             AND missing_since <= $3::timestamptz - $4::interval AND NOT (remote_id = ANY($5::text[]))
           RETURNING dataset_id""",
        run.source_id,
        run.started_at,
        run.finished_at,
        grace,
        run.error_remote_ids,
    )
    return sorted({r["dataset_id"] for r in rows})


async def mark_accounted(conn: asyncpg.Connection, run_id: str, withdrawn: int) -> None:
    await conn.execute(
        "UPDATE registry.harvest_runs SET withdrawals_at = now(), withdrawn = $2 WHERE run_id = $1", run_id, withdrawn
    )


async def states_for_outbox(conn: asyncpg.Connection, refs: list[DocumentRef]) -> dict[DocumentRef, bytes]:
    """The states the outbox's DatasetChanged name (dataset id, state hash): the current one, or the
    newest past state with that hash when the dataset changed again before the relay published. The
    relay asks only for those its process's memory does not hold (shared.messaging.DocumentMemory):
    stored by another instance, or forgotten past the memory's bound."""
    found = await _states(
        conn,
        """SELECT k.id, k.hash, d.state::text AS state
           FROM unnest($1::text[], $2::text[]) AS k (id, hash)
           JOIN registry.datasets d ON d.id = k.id AND d.state_hash = k.hash""",
        refs,
    )
    if moved_on := [ref for ref in refs if ref not in found]:  # rare: read in the history only then
        found |= await _states(
            conn,
            """SELECT DISTINCT ON (k.id, k.hash) k.id, k.hash, p.state::text AS state
               FROM unnest($1::text[], $2::text[]) AS k (id, hash)
               JOIN registry.dataset_past_states p ON p.dataset_id = k.id AND p.state_hash = k.hash
               ORDER BY k.id, k.hash, p.id DESC""",
            moved_on,
        )
    return found


async def _states(conn: asyncpg.Connection, sql: str, refs: list[DocumentRef]) -> dict[DocumentRef, bytes]:
    rows = await conn.fetch(sql, [r.id for r in refs], [r.hash for r in refs])
    return {DocumentRef(r["id"], r["hash"]): r["state"].encode() for r in rows}
