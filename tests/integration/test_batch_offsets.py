"""Batches whose redeliveries are recognised by the offsets stored with each transaction (issue 34),
on the real PostgreSQL: a batch read again changes nothing, a batch read again from an earlier
offset applies only what it had not, two instances handed the same messages apply them once."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from functools import partial
from pathlib import Path

import asyncpg
import pytest

from shared.batch import BatchHandler, Handled, handle_batch_once, handle_isolating_poison
from shared.db import apply_migrations, database_answers
from shared.deadletter import DeadLetterPolicy
from shared.events import DatasetDiscovered, Emitted, Publisher, SerialisedEvent
from shared.settings import Settings
from tests.support.db import scratch_schema
from tests.support.events import discovered

pytestmark = pytest.mark.integration

SCHEMA = "offsets_test"
CONSUMER = "test.harvest.datasets"


@pytest.fixture
async def pool(infrastructure: Settings, tmp_path: Path) -> AsyncIterator[asyncpg.Pool]:
    """A scratch schema with the shared tables and one of effects: each applied event adds a row."""
    async with scratch_schema(infrastructure, SCHEMA) as pool:
        await apply_migrations(pool, SCHEMA, tmp_path)  # an empty directory: the shared migrations only
        await pool.execute(f"CREATE TABLE {SCHEMA}.effects (remote_id text NOT NULL)")
        yield pool


async def apply(conn: asyncpg.Connection, events: Sequence[DatasetDiscovered]) -> list[Emitted]:
    """Not idempotent on purpose: every event applied twice would show as two rows and two events."""
    await conn.executemany(f"INSERT INTO {SCHEMA}.effects VALUES ($1)", [(e.remote_id,) for e in events])
    return [SerialisedEvent("registry.datasets", e.remote_id, "DatasetChanged", b"{}") for e in events]


def batch(*remote_ids: str) -> list[DatasetDiscovered]:
    return [discovered(r, Publisher(name="Commune test")) for r in remote_ids]


async def effects(pool: asyncpg.Pool) -> tuple[list[str], int]:
    rows = await pool.fetch(f"SELECT remote_id FROM {SCHEMA}.effects ORDER BY remote_id")
    emitted = await pool.fetchval(f"SELECT count(*) FROM {SCHEMA}.outbox")
    return [r["remote_id"] for r in rows], emitted


async def handle(
    pool: asyncpg.Pool, settings: Settings, events: list[DatasetDiscovered], positions, handler: BatchHandler = apply
) -> int:
    return await handle_batch_once(pool, SCHEMA, settings, CONSUMER, events, handler, positions)


async def test_a_redelivered_batch_changes_nothing_and_writes_no_row_per_event(
    pool: asyncpg.Pool, infrastructure: Settings
) -> None:
    first = batch("a", "b", "c")
    positions = [(0, 10), (1, 4), (0, 11)]
    assert await handle(pool, infrastructure, first, positions) == 3
    # The same messages again (a consumer that crashed before committing its offsets to Kafka).
    assert await handle(pool, infrastructure, first, positions) == 0
    assert await effects(pool) == (["a", "b", "c"], 3)
    # Read again from an earlier offset: what lies past the stored offsets only.
    later = batch("d", "e")
    assert await handle(pool, infrastructure, [first[2], *later], [(0, 11), (0, 12), (1, 5)]) == 2
    assert await effects(pool) == (["a", "b", "c", "d", "e"], 5)
    stored = await pool.fetch(f"SELECT partition, next_offset FROM {SCHEMA}.consumer_offsets ORDER BY 1")
    assert [tuple(r) for r in stored] == [(0, 13), (1, 6)]
    assert await pool.fetchval(f"SELECT count(*) FROM {SCHEMA}.inbox") == 0  # no row per event


async def test_copies_of_an_event_are_left_to_the_service_to_recognise(pool: asyncpg.Pool, infrastructure: Settings):
    event = batch("a")[0]
    # Published twice, both copies in one batch: applied once.
    assert await handle(pool, infrastructure, [event, event], [(0, 0), (0, 1)]) == 1

    async def apply_new(conn: asyncpg.Connection, events: Sequence[DatasetDiscovered]) -> Handled:
        held = {r["remote_id"] for r in await conn.fetch(f"SELECT remote_id FROM {SCHEMA}.effects")}
        new = [e for e in events if e.remote_id not in held]
        return Handled(await apply(conn, new), already_applied=len(events) - len(new))

    # A third copy in a later batch, at a new offset: the handler finds its effect held already.
    fresh = batch("b")[0]
    assert await handle(pool, infrastructure, [event, fresh], [(0, 2), (0, 3)], handler=apply_new) == 1
    assert await effects(pool) == (["a", "b"], 2)


async def test_two_instances_handed_the_same_messages_apply_them_once(pool: asyncpg.Pool, infrastructure: Settings):
    # A rebalance hands a partition to another instance while the first still applies its batch:
    # the second waits on the partition's row, then finds the messages applied.
    events, positions = batch("a", "b"), [(3, 0), (3, 1)]
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock(34)")  # hold the first transaction before its commit

        async def slow_apply(conn: asyncpg.Connection, events: Sequence[DatasetDiscovered]) -> list[Emitted]:
            emitted = await apply(conn, events)
            await conn.execute("SELECT pg_advisory_lock(34); SELECT pg_advisory_unlock(34)")
            return emitted

        first = asyncio.create_task(
            handle_batch_once(pool, SCHEMA, infrastructure, CONSUMER, events, slow_apply, positions)
        )
        await asyncio.sleep(0.3)
        second = asyncio.create_task(handle(pool, infrastructure, events, positions))
        await asyncio.sleep(0.3)
        assert not second.done()  # waiting for the first's partition row
        await conn.execute("SELECT pg_advisory_unlock(34)")
    assert sorted([await first, await second]) == [0, 2]
    assert await effects(pool) == (["a", "b"], 2)


async def test_a_batch_whose_statement_outlasts_its_timeout_is_halved_down_to_the_slow_event(
    pool: asyncpg.Pool, infrastructure: Settings
) -> None:
    """PostgreSQL cancels the statement of any batch holding "slow" (asyncpg's timeout), and answers at
    once afterwards: the batch is the cause, not an outage. Its halves are applied apart and the slow
    event alone is dead-lettered, where the whole batch used to be read again for ever."""
    events = batch(*(f"r{n:02}" for n in range(12)), "slow", "r12")

    async def slow_when_asked(conn: asyncpg.Connection, events: Sequence[DatasetDiscovered]) -> list[Emitted]:
        if any(e.remote_id == "slow" for e in events):
            await conn.execute("SELECT pg_sleep(5)", timeout=0.2)
        return await apply(conn, events)

    offset_of = {e.remote_id: n for n, e in enumerate(events)}  # one partition, offsets as read

    async def handle_once(part: Sequence[DatasetDiscovered]) -> int:
        positions = [(0, offset_of[e.remote_id]) for e in part]
        return await handle(pool, infrastructure, list(part), positions, slow_when_asked)

    dead: list[tuple[str, str]] = []

    async def dead_letter_one(event: DatasetDiscovered, exc: BaseException, attempts: int) -> None:
        dead.append((event.remote_id, type(exc).__name__))

    policy = DeadLetterPolicy(2, backoff_seconds=0, database=partial(database_answers, pool))
    await handle_isolating_poison(handle_once, events, dead_letter_one, policy)
    assert dead == [("slow", "TimeoutError")]
    assert await effects(pool) == ([f"r{n:02}" for n in range(13)], 13)
