"""A harvest run of one source: `RunExecutor` claims queued runs (several at a time, one per source),
walks each source with its family's backend (`execute_run`), publishes one DatasetDiscovered per
dataset (pipelined, every acknowledgement awaited before the run is declared finished), records item
errors, and publishes HarvestRunStarted and HarvestRunFinished. A failing source never stops the
others. Runs left behind by a stopped process (no heartbeat) are marked failed and queued again.
Commands and schedules that queue runs: handlers.py."""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import aiohttp
import asyncpg
from aiokafka.errors import MessageSizeTooLargeError

from services.harvester import repository, schedules
from services.harvester.backends import backend_for
from services.harvester.backends.base import HarvestAborted, RunContext
from services.harvester.fetch import (
    Fetcher,
    FetchPolicy,
    HostLimits,
    SystemResolver,
    harvest_session,
)
from services.harvester.mapping import of_run
from services.harvester.repository import QueuedRun
from shared import metrics
from shared.events import (
    AUDIENCE_CHUNK,
    AudienceMeasured,
    Event,
    HarvestRunFinished,
    HarvestRunStarted,
    SerialisedEvent,
)
from shared.messaging import woken_or_timed_out

log = logging.getLogger(__name__)

PublishFn = Callable[[Event | SerialisedEvent, bool], Awaitable[Any]]
ACK_WINDOW = 2000  # events in flight before waiting for Kafka's acknowledgements: bounds memory
ERRORS_BATCH = 500
MAX_LISTED_ERRORS = 10_000  # remote ids of failed items listed in HarvestRunFinished (past it, no withdrawals)


def run_status(seen: int, item_errors: int, aborted: str | None) -> str:
    if aborted is not None:
        return "partial" if seen else "failed"
    return "done-errors" if item_errors else "done"


class RunExecutor:
    def __init__(
        self,
        pool: asyncpg.Pool,
        publish: PublishFn,
        policy: FetchPolicy,
        *,
        max_concurrent: int = 8,
        poll_seconds: float = 1.0,
        heartbeat_seconds: float = 10.0,
        resolver: aiohttp.abc.AbstractResolver | None = None,
    ) -> None:
        self.pool = pool
        self.publish = publish
        self.policy = policy
        self.limits = HostLimits(policy)
        self.resolver = resolver or SystemResolver()
        self.max_concurrent = max_concurrent
        self.poll_seconds = poll_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.running: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()  # a slot freed or a run was queued: claim now, not at the next poll
        self._loop: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = harvest_session(self.policy, self.resolver)
        self._loop = asyncio.create_task(self._run_forever(), name="harvest-runs")

    async def stop(self) -> None:
        tasks = [t for t in (self._loop, *self.running.values()) if t]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session:
            await self._session.close()

    async def _run_forever(self) -> None:
        last_heartbeat = 0.0
        while True:
            try:
                now = asyncio.get_running_loop().time()
                if now - last_heartbeat >= self.heartbeat_seconds:
                    await self._heartbeat_and_recover()
                    last_heartbeat = now
                free = self.max_concurrent - len(self.running)
                if free > 0:
                    async with self.pool.acquire() as conn, conn.transaction():
                        claimed = await repository.claim_runs(conn, free)
                    for run in claimed:
                        task = asyncio.create_task(self._execute(run), name=f"run-{run.run_id}")
                        self.running[run.run_id] = task
                        task.add_done_callback(partial(self._forget, run.run_id))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("run executor loop failed; retrying")
            await self._sleep()

    async def _sleep(self) -> None:
        """Until the next poll, or sooner if woken. The poll still matters: other instances queue runs
        and free sources too."""
        await woken_or_timed_out(self._wake, self.poll_seconds)
        self._wake.clear()

    def wake(self) -> None:
        self._wake.set()

    def _forget(self, run_id: str, _: object) -> None:
        self.running.pop(run_id, None)
        self.wake()  # its slot is free, and its source may have another run queued behind it

    async def _heartbeat_and_recover(self) -> None:
        async with self.pool.acquire() as conn:
            if self.running:
                await repository.heartbeat(conn, list(self.running))
            for row in await repository.interrupted_runs(conn, stale_after_seconds=6 * self.heartbeat_seconds):
                log.warning("run interrupted; queued again", extra={"run_id": row["run_id"]})
                await self.publish(
                    HarvestRunFinished(
                        **of_run(row["run_id"], row["source_id"]),
                        status="failed",
                        items_seen=row["items_seen"],
                        errors=row["errors"] + 1,
                        complete=False,
                    ),
                    True,
                )
                await repository.queue_run(conn, str(uuid.uuid4()), row["source_id"], row["mode"], "recovery")

    async def _execute(self, queued: QueuedRun) -> None:
        assert self._session is not None, "the executor is started"
        try:
            fetcher = Fetcher(self._session, self.policy, self.limits, self.resolver)
            await execute_run(self.pool, self.publish, fetcher, queued)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Publishing or the database failed mid-run: the heartbeat stops, recovery queues it again.
            log.exception("harvest run failed", extra={"run_id": queued.run_id})


async def execute_run(
    pool: asyncpg.Pool, publish: PublishFn, fetcher: Fetcher, queued: QueuedRun
) -> HarvestRunFinished:
    source, run = queued.source, RunContext(run_id=queued.run_id, mode=queued.mode, since=queued.since)
    started_at = datetime.now(UTC)  # every dataset this run publishes is stamped later than this
    await publish(
        HarvestRunStarted(**of_run(run.run_id, source.id), mode=queued.mode),
        True,
    )
    seen, item_errors, aborted = 0, 0, None
    failed_ids: set[str] = set()
    in_flight: list[Any] = []
    errors: list[tuple[str | None, str, str]] = []
    audience: dict[str, dict[str, int]] = {}
    backend = backend_for(source.family)(fetcher, source, run)
    try:
        items = backend.items() if source.removed_at is None else _nothing()
        async for item in items:
            if item.dataset is None:
                item_errors += 1
                if item.remote_id:
                    failed_ids.add(item.remote_id)
                errors.append((item.remote_id, "map", item.error or "unknown error"))
            else:
                try:
                    in_flight.append(await publish(item.dataset, False))
                    seen += 1
                    if item.audience:  # by the record's remote id (an ODS item's is its page, not its dataset_id)
                        audience[item.dataset.key.removeprefix(f"{source.id}:")] = item.audience
                except MessageSizeTooLargeError as exc:  # no retry would publish it: an item error, not a failed run
                    item_errors += 1
                    if item.remote_id:
                        failed_ids.add(item.remote_id)
                    errors.append((item.remote_id, "publish", f"too large for Kafka: {exc}"))
            await _within_window(in_flight)
            if len(errors) >= ERRORS_BATCH:
                await _flush_errors(pool, run.run_id, errors)
    except HarvestAborted as exc:
        aborted = str(exc)
        errors.append((None, "fetch", aborted))
    for chunk in audience_events(source.id, source.family, run.run_id, audience):
        in_flight.append(await publish(chunk, False))
    if aborted is None and source.removed_at is None:
        reuses = await publish_reuses(backend, publish, in_flight, errors)
        log.info("reuses harvested", extra={"source_id": source.id, "run_id": run.run_id, "reuses": reuses})
    await asyncio.gather(*in_flight)
    await _flush_errors(pool, run.run_id, errors)

    status = run_status(seen, item_errors, aborted)
    finished = HarvestRunFinished(
        **of_run(run.run_id, source.id),
        status=status,
        items_seen=seen,
        errors=item_errors + (1 if aborted else 0),
        complete=aborted is None,
        mode=queued.mode,
        started_at=started_at,
        error_remote_ids=sorted(failed_ids)[:MAX_LISTED_ERRORS],
    )
    async with pool.acquire() as conn, conn.transaction():
        await repository.finish_run(conn, run.run_id, status, seen, finished.errors, finished.complete, aborted)
        if status == "failed":
            failures = await repository.consecutive_failures(conn, source.id)
            if later := schedules.next_run_after_failures(source.schedule, failures, datetime.now(UTC)):
                await repository.postpone_next_run(conn, source.id, later)
        if finished.complete:
            started = await repository.run_started_at(conn, run.run_id)
            await repository.set_watermark(conn, source.id, schedules.new_watermark(started), full=run.mode == "full")
    await publish(finished, True)
    labels = {"source": source.id, "family": source.family}
    metrics.HARVEST_RUNS.labels(**labels, status=status).inc()
    metrics.HARVEST_ITEMS.labels(**labels).inc(seen)
    metrics.HARVEST_ERRORS.labels(**labels).inc(finished.errors)
    metrics.HARVEST_LAST_FINISHED.labels(**labels).set_to_current_time()
    log.info(
        "harvest run finished",
        extra={
            "source_id": source.id,
            "run_id": run.run_id,
            "status": status,
            "items_seen": seen,
            "errors": finished.errors,
            "reason": aborted,
        },
    )
    return finished


def audience_events(
    source_id: str, family: str, run_id: str, audience: dict[str, dict[str, int]]
) -> list[AudienceMeasured]:
    """The run's audience counters in chunks of records, all measured at the end of the walk."""
    measured_at, remote_ids = datetime.now(UTC), sorted(audience)
    return [
        AudienceMeasured(
            **of_run(run_id, source_id),
            counted_by=family,
            measured_at=measured_at,
            chunk=n // AUDIENCE_CHUNK,
            records={r: audience[r] for r in remote_ids[n : n + AUDIENCE_CHUNK]},
        )
        for n in range(0, len(remote_ids), AUDIENCE_CHUNK)
    ]


async def publish_reuses(
    backend: Any, publish: PublishFn, in_flight: list[Any], errors: list[tuple[str | None, str, str]]
) -> int:
    """Publish every reuse the portal lists, in the run's window of acknowledgements; a reuse that
    cannot be mapped, or a list that cannot be read, is an item error of stage `reuse` that leaves
    the run's status to its datasets."""
    published = 0
    try:
        async for item in backend.reuses():
            if item.reuse is None:
                errors.append((item.remote_id, "reuse", item.error or "unknown error"))
                continue
            in_flight.append(await publish(item.reuse, False))
            published += 1
            await _within_window(in_flight)
    except HarvestAborted as exc:
        errors.append((None, "reuse", str(exc)))
    return published


async def _within_window(in_flight: list[Any]) -> None:
    """Wait for Kafka's acknowledgements once ACK_WINDOW publishes are in flight (bounds memory)."""
    if len(in_flight) >= ACK_WINDOW:
        await asyncio.gather(*in_flight)
        in_flight.clear()


async def _nothing() -> AsyncIterator[Any]:
    """What a removed source lists: nothing, without asking its portal (a complete run of no dataset,
    so the consolidator finds every record missing and withdraws it after the grace)."""
    return
    yield


async def _flush_errors(pool: asyncpg.Pool, run_id: str, errors: list[tuple[str | None, str, str]]) -> None:
    if errors:
        async with pool.acquire() as conn:
            await repository.record_item_errors(conn, run_id, errors)
        errors.clear()
