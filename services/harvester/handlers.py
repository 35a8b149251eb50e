"""Harvest runs: one HarvestRequested command -> walk the source -> DatasetDiscovered per dataset ->
HarvestRunFinished. Datasets are published straight to Kafka (pipelined, every ack awaited before the
run is declared finished): a re-run is harmless because the consolidator skips unchanged content."""

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import asyncpg

from services.harvester import repository
from services.harvester.backends import backend_for
from services.harvester.backends.base import HarvestAborted, RunContext
from services.harvester.fetch import Fetcher, FetchPolicy
from shared.events import Event, HarvestRequested, HarvestRunFinished, HarvestRunStarted

log = logging.getLogger(__name__)

PublishFn = Callable[[Event, bool], Awaitable[Any]]
ACK_WINDOW = 1000  # events in flight before waiting for Kafka's acks: bounds memory on big portals


async def run_harvest(
    pool: asyncpg.Pool,
    publish: PublishFn,
    fetch_policy: FetchPolicy,
    command: HarvestRequested,
) -> HarvestRunFinished:
    async with pool.acquire() as conn:
        source = await repository.get_source(conn, command.source_id)
    if source is None:
        raise ValueError(f"unknown harvest source {command.source_id!r}")
    run = RunContext(run_id=str(uuid.uuid4()), mode=command.mode)
    async with pool.acquire() as conn:
        await repository.start_run(conn, run.run_id, source.id, run.mode)
    await publish(
        HarvestRunStarted(
            producer="harvester", correlation_id=run.run_id, run_id=run.run_id, source_id=source.id, mode=command.mode
        ),
        True,
    )

    seen, errors, aborted = 0, 0, None
    in_flight: list[Any] = []
    async with aiohttp.ClientSession() as session:
        backend = backend_for(source.family)(Fetcher(session, fetch_policy), source, run)
        try:
            async for item in backend.items():
                if item.event is None:
                    errors += 1
                    async with pool.acquire() as conn:
                        await repository.record_item_error(conn, run.run_id, item.remote_id, "map", item.error or "")
                    continue
                in_flight.append(await publish(item.event, False))
                seen += 1
                if len(in_flight) >= ACK_WINDOW:
                    await asyncio.gather(*in_flight)
                    in_flight.clear()
        except HarvestAborted as exc:
            aborted = str(exc)
            async with pool.acquire() as conn:
                await repository.record_item_error(conn, run.run_id, None, "fetch", aborted)
        await asyncio.gather(*in_flight)

    status = run_status(seen, errors, aborted)
    finished = HarvestRunFinished(
        producer="harvester",
        correlation_id=run.run_id,
        run_id=run.run_id,
        source_id=source.id,
        status=status,
        items_seen=seen,
        errors=errors + (1 if aborted else 0),
        complete=aborted is None,
    )
    async with pool.acquire() as conn:
        await repository.finish_run(conn, run.run_id, status, seen, finished.errors, finished.complete, aborted)
    await publish(finished, True)
    log.info(
        "harvest run finished",
        extra={
            "source_id": source.id,
            "run_id": run.run_id,
            "status": status,
            "items_seen": seen,
            "errors": finished.errors,
        },
    )
    return finished


def run_status(seen: int, item_errors: int, aborted: str | None) -> str:
    if aborted is not None:
        return "partial" if seen else "failed"
    return "done-errors" if item_errors else "done"
