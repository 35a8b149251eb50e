"""The outbox relay on the real PostgreSQL and Kafka: it publishes the outbox in id order and empties
it; an event Kafka will never accept is set aside with its error rather than block the events after it."""

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaTimeoutError
from prometheus_client import REGISTRY

from shared.db import SHARED_MIGRATIONS, apply_migrations, migration_files
from shared.events import DatasetChanged, DocumentRef, SerialisedEvent, serialised_dataset_changed
from shared.messaging import DocumentMemory, OutboxRelay, add_to_outbox, requeue_rejected
from shared.settings import Settings
from tests.support.db import connect_as, scratch_schema
from tests.support.kafka import read_all, wait_for
from tests.support.processes import run_module

pytestmark = pytest.mark.integration

SCHEMA = "relay_test"
TOPIC = "registry.datasets"


@pytest.fixture
async def relay_settings(infrastructure: Settings) -> AsyncIterator[Settings]:
    """The settings with a topic prefix of their own, its one topic created (one partition: one order)."""
    settings = infrastructure.model_copy(update={"topic_prefix": f"relay-{uuid4().hex[:8]}."})
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(settings.topic(TOPIC), num_partitions=1, replication_factor=1)])
        yield settings
        await admin.delete_topics([settings.topic(TOPIC)])
    finally:
        await admin.close()


@pytest.fixture
async def outbox_pool(infrastructure: Settings, tmp_path: Path) -> AsyncIterator[asyncpg.Pool]:
    """A scratch schema holding the shared inbox and outbox, as every service schema does."""
    async with scratch_schema(infrastructure, SCHEMA) as pool:
        await apply_migrations(pool, SCHEMA, tmp_path)  # an empty directory: the shared migrations only
        yield pool


def event(key: str, size: int = 0) -> SerialisedEvent:
    return SerialisedEvent(TOPIC, key, "DatasetChanged", f'{{"id": "{key}", "pad": "{"x" * size}"}}'.encode())


async def test_the_relay_publishes_in_order_and_sets_aside_an_event_kafka_refuses(
    outbox_pool: asyncpg.Pool, relay_settings: Settings
) -> None:
    # Two events Kafka refuses: one above the producer's limit (`max_event_bytes`, 4 MiB in the tests),
    # one under it but above its topic's (created here with the broker's default, 1 MB).
    sizes = {"too-big": 5 * 2**20, "too-big-for-the-topic": 2 * 2**20}
    keys = ["d0", "d1", "too-big", "d3", "too-big-for-the-topic", "d5"]
    async with outbox_pool.acquire() as conn, conn.transaction():
        await add_to_outbox(conn, SCHEMA, relay_settings, [event(k, sizes.get(k, 0)) for k in keys])
    relay = OutboxRelay(outbox_pool, relay_settings, SCHEMA)
    await relay.publisher.start()
    try:
        # The events after a refusal by the broker fail out of order: they go in the next round.
        rounds = [await relay.publish_pending() for _ in range(3)]
        assert sum(rounds) == 4 and rounds[-1] == 0
    finally:
        await relay.publisher.stop()

    assert await outbox_pool.fetchval(f"SELECT count(*) FROM {SCHEMA}.outbox") == 0
    rejected = await outbox_pool.fetch(
        f"SELECT key, length(payload) AS size, error FROM {SCHEMA}.outbox_rejected ORDER BY id"
    )
    assert [(r["key"], r["size"]) for r in rejected] == [(k, len(event(k, sizes[k]).payload)) for k in sizes]
    assert "max_request_size" in rejected[0]["error"] and "max.message.bytes" in rejected[1]["error"]
    published = [record.key.decode() for record in await read_all(relay_settings, TOPIC)]
    assert published == ["d0", "d1", "d3", "d5"]


async def test_events_set_aside_are_published_once_put_back_after_the_topic_takes_them(
    outbox_pool: asyncpg.Pool, relay_settings: Settings
) -> None:
    sizes = {"too-big": 5 * 2**20, "too-big-for-the-topic": 2 * 2**20}
    async with outbox_pool.acquire() as conn, conn.transaction():
        await add_to_outbox(conn, SCHEMA, relay_settings, [event(k, size) for k, size in sizes.items()])
    relay = OutboxRelay(outbox_pool, relay_settings, SCHEMA)
    await relay.publisher.start()
    try:
        assert await relay.publish_pending() == 0  # both refused, set aside
        await raise_topic_limit(relay_settings, 3 * 2**20)  # the operator raises the topic's limit
        async with outbox_pool.acquire() as conn:
            assert await requeue_rejected(conn, SCHEMA) == 2
        assert await relay.publish_pending() == 1
    finally:
        await relay.publisher.stop()

    # The one under the topic's new limit is published; the other, above the producer's, set aside again.
    assert [r.key.decode() for r in await read_all(relay_settings, TOPIC)] == ["too-big-for-the-topic"]
    rejected = await outbox_pool.fetch(f"SELECT key FROM {SCHEMA}.outbox_rejected")
    assert [r["key"] for r in rejected] == ["too-big"]
    assert await outbox_pool.fetchval(f"SELECT count(*) FROM {SCHEMA}.outbox") == 0


async def raise_topic_limit(settings: Settings, max_bytes: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        config = {"max.message.bytes": str(max_bytes)}
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, settings.topic(TOPIC), config)])
    finally:
        await admin.close()


async def test_the_requeue_command_puts_a_service_s_rejected_events_back_for_its_relay(
    services, settings: Settings, relay_settings: Settings
):
    """`python -m shared.admin requeue-rejected registry`, with the consolidator running: the event set
    aside is published by the consolidator's relay (to a topic of this test's own, which no service reads)."""
    key = f"requeued-{uuid4().hex[:8]}"
    conn = await connect_as(settings, "consolidator")
    try:
        await conn.execute(
            """INSERT INTO registry.outbox_rejected (id, topic, key, event_type, payload, error)
               VALUES (-1, $1, $2, 'DatasetChanged', $3, 'refused')""",
            relay_settings.topic(TOPIC), key, event(key).payload,
        )  # fmt: skip
        output = await run_module(settings, "shared.admin", "requeue-rejected", "registry")
        assert "put 1 event(s) back in registry.outbox" in output
        assert await conn.fetchval("SELECT count(*) FROM registry.outbox_rejected") == 0
    finally:
        await conn.close()
    await wait_for(lambda: _published(relay_settings, key), timeout=30)


async def _published(settings: Settings, key: str) -> bool:
    return [r.key.decode() for r in await read_all(settings, TOPIC, idle_ms=300)] == [key]


class FlakyPublisher:
    """Acknowledges every event but the ones whose key is in `failing` (a timeout), the first time."""

    def __init__(self, failing: set[str]) -> None:
        self.failing, self.restarts = set(failing), 0
        self.sent: list[str] = []

    async def send(self, topic: str, key: str, event_type: str, payload: bytes) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if key in self.failing:
            future.set_exception(KafkaTimeoutError())
        else:
            self.sent.append(key)
            future.set_result(None)
        return future

    async def restart(self) -> None:
        self.restarts += 1
        self.failing.clear()


async def test_after_an_unacknowledged_event_the_relay_sends_it_and_every_later_one_again_in_order(
    outbox_pool: asyncpg.Pool, relay_settings: Settings
) -> None:
    keys = ["d0", "d1", "d2", "d3"]
    async with outbox_pool.acquire() as conn, conn.transaction():
        await add_to_outbox(conn, SCHEMA, relay_settings, [event(k) for k in keys])
    relay = OutboxRelay(outbox_pool, relay_settings, SCHEMA)
    relay.publisher = flaky = FlakyPublisher({"d1"})  # type: ignore[assignment]

    assert await relay.publish_pending() == 1  # d0 only: d1 timed out, d2 and d3 wait behind it
    remaining = await outbox_pool.fetch(f"SELECT key FROM {SCHEMA}.outbox ORDER BY id")
    assert [r["key"] for r in remaining] == ["d1", "d2", "d3"]
    assert await relay.publish_pending() == 3  # with a new producer
    assert flaky.restarts == 1
    # d2 and d3 were acknowledged the first time too: sent again after d1, never before it.
    assert flaky.sent == ["d0", "d2", "d3", "d1", "d2", "d3"]
    assert await outbox_pool.fetchval(f"SELECT count(*) FROM {SCHEMA}.outbox") == 0


async def test_an_event_written_around_a_stored_document_is_published_whole_or_set_aside_without_it(
    outbox_pool: asyncpg.Pool, relay_settings: Settings
) -> None:
    """The consolidator's outbox keeps a DatasetChanged without the dataset's state, which the relay
    reads where the transaction stored it (issue 34); a document not found sets its event aside."""
    states = {DocumentRef("d1", "h1"): b'{"id":"d1","organization_id":null,"title":"Arbres"}'}

    async def documents(conn: asyncpg.Connection, refs: list[DocumentRef]) -> dict[DocumentRef, bytes]:
        return {ref: states[ref] for ref in refs if ref in states}

    around = [serialised_dataset_changed("test", None, "created", d, "h1") for d in ("d1", "lost")]
    async with outbox_pool.acquire() as conn, conn.transaction():
        await add_to_outbox(conn, SCHEMA, relay_settings, [*around, event("d2")])
    runs = await outbox_pool.fetch(f"SELECT keys, payloads, document_ids FROM {SCHEMA}.outbox WHERE keys IS NOT NULL")
    assert [(r["keys"], r["document_ids"]) for r in runs] == [(["d1", "lost"], ["d1", "lost"])]  # one row, a run
    assert [bytes(p) for p in runs[0]["payloads"]] == [e.payload for e in around]  # no copy of the state
    relay = OutboxRelay(outbox_pool, relay_settings, SCHEMA, documents=documents)
    assert await one_round(relay) == 2

    published = {r.key.decode(): r.value for r in await read_all(relay_settings, TOPIC)}
    assert list(published) == ["d1", "d2"]
    changed = DatasetChanged.model_validate_json(published["d1"])
    assert (changed.dataset.id, changed.dataset.title, changed.change) == ("d1", "Arbres", "created")
    assert published["d1"] == around[0].around(states[DocumentRef("d1", "h1")])
    rejected = await outbox_pool.fetch(f"SELECT key, payload, error FROM {SCHEMA}.outbox_rejected")
    assert [(r["key"], bytes(r["payload"])) for r in rejected] == [("lost", around[1].payload)]
    assert "not stored" in rejected[0]["error"]
    assert await outbox_pool.fetchval(f"SELECT count(*) FROM {SCHEMA}.outbox") == 0


async def test_the_relay_takes_the_documents_its_process_stored_from_memory_and_reads_only_the_others(
    outbox_pool: asyncpg.Pool, relay_settings: Settings
) -> None:
    """The documents this process's transactions stored are published from its memory; only the
    others (another instance's, or forgotten past the memory's bound) are asked of the service's
    DocumentReader. Once their rows are deleted, they are forgotten."""
    memory = DocumentMemory()
    stored = serialised_dataset_changed("test", None, "created", "d1", "h1", '{"id":"d1","organization_id":null,'
                                        '"title":"Arbres"}')  # fmt: skip
    elsewhere = serialised_dataset_changed("test", None, "created", "d2", "h1")  # stored by another instance
    lost = serialised_dataset_changed("test", None, "created", "lost", "h1")
    older = {DocumentRef("d2", "h1"): b'{"id":"d2","organization_id":null,"title":"Bancs"}'}
    asked: list[DocumentRef] = []

    async def documents(conn: asyncpg.Connection, refs: list[DocumentRef]) -> dict[DocumentRef, bytes]:
        asked.extend(refs)
        return {ref: older[ref] for ref in refs if ref in older}

    async with outbox_pool.acquire() as conn, conn.transaction():
        await add_to_outbox(conn, SCHEMA, relay_settings, [stored, elsewhere, lost])
    memory.keep([stored, elsewhere, lost])  # only the one with its body is kept
    assert len(memory) == 1
    relay = OutboxRelay(outbox_pool, relay_settings, SCHEMA, documents=documents, memory=memory)
    assert await one_round(relay) == 2

    assert sorted(asked, key=lambda r: r.id) == [DocumentRef("d2", "h1"), DocumentRef("lost", "h1")]
    published = {r.key.decode(): r.value for r in await read_all(relay_settings, TOPIC)}
    titles = {key: DatasetChanged.model_validate_json(value).dataset.title for key, value in published.items()}
    assert titles == {"d1": "Arbres", "d2": "Bancs"}
    assert published["d1"] == stored.around(stored.document_body or b"")
    rejected = await outbox_pool.fetch(f"SELECT key, error FROM {SCHEMA}.outbox_rejected")
    assert [r["key"] for r in rejected] == ["lost"] and "not stored" in rejected[0]["error"]
    assert (len(memory), memory.bytes) == (0, 0)  # published: forgotten


async def test_a_run_failing_midway_is_published_again_whole_and_its_lost_event_set_aside_once(
    outbox_pool: asyncpg.Pool, relay_settings: Settings
) -> None:
    """A batch's DatasetChanged are one outbox row, a run (issue 34). An event of the run that times
    out keeps the whole row: the next round sends the run again from its start, in order; an event of
    it whose document is lost is set aside once, by its run and position."""
    states = {DocumentRef(d, "h"): f'{{"id":"{d}","organization_id":null,"title":"{d}"}}'.encode()
              for d in ("d1", "d3", "d4")}  # fmt: skip

    async def documents(conn: asyncpg.Connection, refs: list[DocumentRef]) -> dict[DocumentRef, bytes]:
        return {ref: states[ref] for ref in refs if ref in states}

    run = [serialised_dataset_changed("test", None, "created", d, "h") for d in ("d1", "d2", "d3", "d4")]
    async with outbox_pool.acquire() as conn, conn.transaction():
        await add_to_outbox(conn, SCHEMA, relay_settings, [event("s0"), *run, event("s5")])
    assert await outbox_pool.fetchval(f"SELECT count(*) FROM {SCHEMA}.outbox") == 3  # s0, the run, s5
    relay = OutboxRelay(outbox_pool, relay_settings, SCHEMA, documents=documents)
    relay.publisher = flaky = FlakyPublisher({"d3"})  # type: ignore[assignment]
    set_aside_before = _rejected_total()

    assert await relay.publish_pending() == 2  # s0 and d1; d2 set aside; d3 timed out
    assert await relay.publish_pending() == 4  # d1 again, d3, d4, s5
    assert flaky.sent == ["s0", "d1", "d4", "s5", "d1", "d3", "d4", "s5"]
    rejected = await outbox_pool.fetch(f"SELECT key, position, error FROM {SCHEMA}.outbox_rejected")
    assert [(r["key"], r["position"]) for r in rejected] == [("d2", 1)] and "not stored" in rejected[0]["error"]
    assert _rejected_total() == set_aside_before + 1  # counted once, though its run was read twice
    assert await outbox_pool.fetchval(f"SELECT count(*) FROM {SCHEMA}.outbox") == 0
    # The backlog still counts events: the run reserved an id for each of its events.
    ids = await outbox_pool.fetchval(f"SELECT last_value FROM {SCHEMA}.outbox_id_seq")
    assert ids == 6


async def test_the_runs_migration_keeps_pending_events_written_around_documents(
    infrastructure: Settings, relay_settings: Settings
) -> None:
    """Events a service wrote around documents before migration 904 are published after it."""
    schema = "runs_migrated"
    async with scratch_schema(infrastructure, schema, server_settings={"search_path": schema}) as pool:
        for path in migration_files(SHARED_MIGRATIONS):
            if path.name < "904":
                await pool.execute(path.read_text())
        around = serialised_dataset_changed("test", None, "created", "d1", "h1")
        await pool.execute(
            """INSERT INTO outbox (topic, key, event_type, payload, document_id, document_hash)
               VALUES ($1, 'd0', 'DatasetChanged', $2, NULL, NULL), ($1, 'd1', 'DatasetChanged', $3, 'd1', 'h1')""",
            relay_settings.topic(TOPIC), event("d0").payload, around.payload,
        )  # fmt: skip
        await pool.execute((SHARED_MIGRATIONS / "904_outbox_runs.sql").read_text())
        state = b'{"id":"d1","organization_id":null,"title":"Arbres"}'

        async def documents(conn: asyncpg.Connection, refs: list[DocumentRef]) -> dict[DocumentRef, bytes]:
            return {ref: state for ref in refs if ref == DocumentRef("d1", "h1")}

        relay = OutboxRelay(pool, relay_settings, schema, documents=documents)
        assert await one_round(relay) == 2
    published = {r.key.decode(): r.value for r in await read_all(relay_settings, TOPIC)}
    assert list(published) == ["d0", "d1"] and published["d1"] == around.around(state)


def _rejected_total() -> float:
    return REGISTRY.get_sample_value("obs_outbox_rejected_total", {"schema": SCHEMA}) or 0.0


async def one_round(relay: OutboxRelay) -> int:
    """One round of the relay with its own producer, started and stopped: how many it published."""
    await relay.publisher.start()
    try:
        return await relay.publish_pending()
    finally:
        await relay.publisher.stop()


async def test_reading_the_outbox_visits_the_rows_it_reads_not_the_whole_backlog(
    outbox_pool: asyncpg.Pool, relay_settings: Settings
) -> None:
    """The relay reads the head of the outbox whatever the table's statistics say. With statistics
    taken while it was empty between two bursts, the planner joined the head's ids to the outbox by
    walking it from its head for each of them (500 x 250 rows a read; 100 ms in the benchmark)."""
    for burst in (2_000, 5_000):  # analysed between the two, when the first was published and deleted
        async with outbox_pool.acquire() as conn, conn.transaction():
            await add_to_outbox(conn, SCHEMA, relay_settings, [event(f"{burst}-{n}") for n in range(burst)])
        if burst == 2_000:
            await outbox_pool.execute(f"DELETE FROM {SCHEMA}.outbox")
            await outbox_pool.execute(f"ANALYZE {SCHEMA}.outbox")
    relay = OutboxRelay(outbox_pool, relay_settings, SCHEMA)
    plan = await outbox_pool.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {relay.pending_sql}", 500)
    read = json.loads(plan)[0]["Plan"]
    assert read["Actual Rows"] == 500
    # About two pages a row read (its index entry and its heap page): about 1,060 here, against 6,601 when
    # each row's lookup walked the outbox from its head.
    assert read["Shared Hit Blocks"] + read["Shared Read Blocks"] < 4 * 500, read["Shared Hit Blocks"]


async def test_the_relay_listens_again_once_postgresql_closed_its_listening_connection(
    outbox_pool: asyncpg.Pool, relay_settings: Settings
) -> None:
    """A restart of PostgreSQL or a terminated backend closes the connection the relay LISTENs on. It
    listens again on a new one, so that a transaction's NOTIFY still wakes it at once, where it used to
    poll once a second from then on; and it publishes what was added meanwhile."""

    async def listening() -> list[int]:
        """The sessions of this database LISTENing on the schema's channel (the relay's, as PostgreSQL sees them)."""
        rows = await outbox_pool.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = $1",
            f'LISTEN "{SCHEMA}_outbox"',
        )
        return [r["pid"] for r in rows]

    relay = OutboxRelay(outbox_pool, relay_settings, SCHEMA)
    await relay.start()
    try:
        first = await wait_for(listening, timeout=10)
        assert len(first) == 1
        await outbox_pool.execute("SELECT pg_terminate_backend($1)", first[0])

        async def listening_anew() -> list[int] | None:
            pids = await listening()
            return pids if pids and pids != first else None

        assert len(await wait_for(listening_anew, timeout=10)) == 1
        async with outbox_pool.acquire() as conn, conn.transaction():
            await add_to_outbox(conn, SCHEMA, relay_settings, [event("after-restart")])
        published = await wait_for(lambda: _keys_published(relay_settings), timeout=30)
        assert published == ["after-restart"]
    finally:
        await relay.stop()


async def _keys_published(settings: Settings) -> list[str]:
    return [record.key.decode() for record in await read_all(settings, TOPIC, idle_ms=300)]
