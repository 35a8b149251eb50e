"""The run executor's scheduling, without I/O: the database and the harvest itself are replaced."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.harvester import repository, runs
from services.harvester.fetch import FetchPolicy
from services.harvester.repository import QueuedRun, Source


class FakePool:
    """Just enough of an asyncpg pool for the executor's claims."""

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator["FakePool"]:
        yield self

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        yield


async def test_a_freed_slot_takes_the_next_queued_run_without_waiting_for_the_poll(monkeypatch: pytest.MonkeyPatch):
    sources = [Source(f"s{n}", f"https://s{n}.fr", "ckan", f"S{n}") for n in range(5)]
    queued = [QueuedRun(f"run-{n}", source, "full", None) for n, source in enumerate(sources)]
    executed: list[str] = []
    all_done = asyncio.Event()

    async def claim_runs(conn: Any, limit: int) -> list[QueuedRun]:
        claimed = queued[:limit]
        del queued[:limit]
        return claimed

    async def no_runs(*args: Any, **kwargs: Any) -> list[Any]:
        return []

    async def execute_run(pool: Any, publish: Any, fetcher: Any, run: QueuedRun) -> None:
        await asyncio.sleep(0.01)
        executed.append(run.run_id)
        if len(executed) == len(sources):
            all_done.set()

    monkeypatch.setattr(repository, "claim_runs", claim_runs)
    monkeypatch.setattr(repository, "interrupted_runs", no_runs)
    monkeypatch.setattr(runs, "execute_run", execute_run)
    # One slot and an hour between polls: only the wake-up of a finished run can start the next ones.
    executor = runs.RunExecutor(
        FakePool(),
        publish=no_runs,
        policy=FetchPolicy(),
        max_concurrent=1,
        poll_seconds=3600,
        heartbeat_seconds=3600,
    )
    await executor.start()
    try:
        await asyncio.wait_for(all_done.wait(), 30)
    finally:
        await executor.stop()
    assert executed == [f"run-{n}" for n in range(5)]
