"""Inbox and transactional outbox on PostgreSQL, and the relay that publishes the outbox to Kafka.

A consumer applies an event in one transaction: claim its id in the inbox (a redelivery finds it
there and does nothing), write the effects, add the events it emits to the outbox. The offset is
committed only after that transaction commits. The relay then publishes the outbox with the
idempotent producer, in id order, and deletes what Kafka acknowledged (an event around a document
the service stored in the same transaction, such as a dataset's state, is kept without it: the relay
takes the document from the memory of the process that stored it, `DocumentMemory`, or reads it from
the service's table, `documents`; a transaction's consecutive such events are one row, a run); after
a crash it may publish an event again, which
downstream inboxes absorb. An event Kafka will never accept is set aside in
`outbox_rejected` rather than tried again for ever before every event after it.
"""

import asyncio
import contextlib
import functools
import itertools
import logging
import zlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError
from faststream.kafka import KafkaBroker

from shared import metrics
from shared.db import affected_rows
from shared.events import DocumentRef, Emitted, Event, SerialisedEvent, closed_around
from shared.partitioning import default_partitioner
from shared.settings import Settings
from shared.topics import MAIN_TOPICS

log = logging.getLogger(__name__)

Handler = Callable[[asyncpg.Connection, Any], Awaitable[Sequence[Emitted]]]
# Reads the documents outbox events were written around (see SerialisedEvent.document).
DocumentReader = Callable[[asyncpg.Connection, list[DocumentRef]], Awaitable[dict[DocumentRef, bytes]]]


class DocumentMemory:
    """The documents this process's transactions stored around their outbox events, kept until its
    relay has published them, so that it need not read back what was just written (the consolidator's
    states were a sixth of PostgreSQL's work per dataset: issue 34). A document is named by its id and
    hash, so any copy under that name is the one to publish. Bounded: past `max_bytes` (about 27,000
    states) the oldest are forgotten, and the relay reads those from the service's table, as it does
    the documents another instance stored; an instance whose relay is not the one publishing keeps its
    documents until the bound pushes them out."""

    def __init__(self, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._documents: OrderedDict[DocumentRef, bytes] = OrderedDict()

    def keep(self, events: Sequence[Emitted]) -> None:
        for event in events:
            if isinstance(event, SerialisedEvent) and event.document and event.document_body is not None:
                self.forget([event.document])
                self._documents[event.document] = event.document_body
                self.bytes += len(event.document_body)
        while self.bytes > self.max_bytes:
            self.bytes -= len(self._documents.popitem(last=False)[1])

    def find(self, refs: Sequence[DocumentRef]) -> dict[DocumentRef, bytes]:
        return {ref: document for ref in refs if (document := self._documents.get(ref)) is not None}

    def forget(self, refs: Sequence[DocumentRef]) -> None:
        for ref in refs:
            if (document := self._documents.pop(ref, None)) is not None:
                self.bytes -= len(document)

    def __len__(self) -> int:
        return len(self._documents)


def inbox_consumer(service: str, topic: str) -> str:
    """The name under which `service` claims the events of `topic` in its inbox."""
    return f"{service}.{topic}"


async def claim(conn: asyncpg.Connection, schema: str, consumer: str, event_id: UUID) -> bool:
    """Record `event_id` as handled by `consumer`; False when it already was (a redelivery)."""
    status = await conn.execute(
        f"INSERT INTO {schema}.inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        consumer,
        event_id,
    )
    return affected_rows(status) == 1


def prunable_consumers(service: str) -> list[str]:
    """The inbox consumers of `service` whose handled events may be forgotten after a while: those
    of the topics that delete old messages. A compacted topic keeps a state for ever; were its
    inbox pruned, reading it again from the start would apply an old state and skip a newer one."""
    return [inbox_consumer(service, spec.name) for spec in MAIN_TOPICS if not spec.compacted]


async def prune_inbox(conn: asyncpg.Connection, schema: str, consumers: list[str], handled_before: datetime) -> int:
    """Forget the events these consumers handled before `handled_before`; return how many."""
    status = await conn.execute(
        f"DELETE FROM {schema}.inbox WHERE consumer = ANY($1::text[]) AND handled_at < $2", consumers, handled_before
    )
    return affected_rows(status)


OUTBOX_COLUMNS = [
    "id", "topic", "key", "event_type", "payload", "events", "keys", "payloads", "document_ids", "document_hashes"
]  # fmt: skip


async def add_to_outbox(conn: asyncpg.Connection, schema: str, settings: Settings, events: Sequence[Emitted]) -> None:
    """Keep the events a transaction emits, in their order, for the relay: an event alone in a row,
    consecutive events written around documents (a batch's DatasetChanged) as one row, a run."""
    if not events:
        return
    serialised = [e if isinstance(e, SerialisedEvent) else SerialisedEvent.of(e) for e in events]
    runs = _runs(serialised)
    rows: list[tuple[Any, ...]] = []
    for run in runs:
        topic, event_type = settings.topic(run[0].topic), run[0].event_type
        documents = [e.document for e in run if e.document]
        if not documents:  # an event alone
            rows.append((topic, run[0].key, event_type, run[0].payload, 1, None, None, None, None))
        else:
            keys, payloads = [e.key for e in run], [e.payload for e in run]
            rows.append((topic, None, event_type, None, len(run), keys, payloads, [d.id for d in documents],
                         [d.hash for d in documents]))  # fmt: skip
    # COPYed rather than inserted from arrays: a quarter of the client's CPU, about half its time
    # (bench/README.md, issue 34's second step). The ids follow the rows' order. Where a run holds
    # several events, an id is reserved for each (the run takes its first), so that ids keep counting
    # events; a transaction of events alone takes the sequence's defaults, one per row, without that
    # round trip.
    columns = OUTBOX_COLUMNS[1:]
    if len(runs) < len(serialised):
        ids = await conn.fetch(
            "SELECT nextval($1::regclass) FROM generate_series(1, $2)", f"{schema}.outbox_id_seq", len(serialised)
        )
        starts = itertools.accumulate((len(run) for run in runs[:-1]), initial=0)
        rows = [(ids[start][0], *row) for start, row in zip(starts, rows, strict=True)]
        columns = OUTBOX_COLUMNS
    await conn.copy_records_to_table("outbox", schema_name=schema, columns=columns, records=rows)
    await conn.execute("SELECT pg_notify($1, '')", _channel(schema))


def _runs(events: list[SerialisedEvent]) -> list[list[SerialisedEvent]]:
    """The events in order, those written around a document grouped while consecutive, of one topic
    and type; every other event alone."""
    runs: list[list[SerialisedEvent]] = []
    for event in events:
        last = runs[-1][-1] if runs else None
        if (
            last is not None
            and event.document is not None
            and last.document is not None
            and (event.topic, event.event_type) == (last.topic, last.event_type)
        ):
            runs[-1].append(event)
        else:
            runs.append([event])
    return runs


async def requeue_rejected(conn: asyncpg.Connection, schema: str) -> int:
    """Put the events set aside in `outbox_rejected` back at the end of the outbox, in their order,
    for the relay to try again (once Kafka's limits are raised); return how many. One the relay
    cannot publish still is set aside again."""
    async with conn.transaction():
        status = await conn.execute(
            f"""WITH moved AS (DELETE FROM {schema}.outbox_rejected RETURNING *)
                INSERT INTO {schema}.outbox (topic, key, event_type, payload)
                SELECT topic, key, event_type, payload FROM moved ORDER BY id, position"""
        )
        await conn.execute("SELECT pg_notify($1, '')", _channel(schema))
    return affected_rows(status)


async def handle_once(
    pool: asyncpg.Pool,
    schema: str,
    settings: Settings,
    consumer: str,
    event: Event,
    handler: Handler,
) -> bool:
    """Apply `handler` to `event` exactly once in effect; False when the event was a redelivery."""
    async with pool.acquire() as conn, conn.transaction():
        if not await claim(conn, schema, consumer, event.event_id):
            metrics.EVENTS_DUPLICATE.labels(consumer=consumer).inc()
            return False
        emitted = await handler(conn, event)
        await add_to_outbox(conn, schema, settings, emitted)
    return True


async def publish_event(broker: KafkaBroker, settings: Settings, event: Event, *, confirm: bool = True) -> Any:
    """Publish straight to Kafka (no outbox), keyed by the event's aggregate. With `confirm=False`
    return the delivery future so that a producer can pipeline many events and await them later."""
    topic = settings.topic(event.topic)
    result = await broker.publish(
        event.model_dump_json().encode(),
        topic,
        key=event.key().encode(),
        headers={"content-type": "application/json", "event_type": type(event).__name__},
        no_confirm=not confirm,
    )
    metrics.EVENTS_PRODUCED.labels(topic=topic).inc()
    return result


async def woken_or_timed_out(event: asyncio.Event, seconds: float) -> None:
    """Wait until `event` is set or `seconds` pass. asyncio.timeout, not wait_for: Python 3.11's
    wait_for swallows a cancellation that arrives as the event is set, and a loop waiting this way
    would outlive its task's `cancel`."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


def _channel(schema: str) -> str:
    return f"{schema}_outbox"


class OutboxRelay:
    """Publishes `<schema>.outbox` to Kafka. One relay per schema publishes at a time (advisory
    lock), so events keep their order per key even with several instances of a service."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: Settings,
        schema: str,
        batch_size: int = 500,
        documents: DocumentReader | None = None,
        memory: DocumentMemory | None = None,
    ) -> None:
        self.pool = pool
        self.documents = documents
        self.memory = memory
        self.pending_sql = _pending_sql(schema)
        self.publisher = BulkPublisher(settings, f"observatoire-outbox-{schema}")
        self.schema = schema
        self.batch_size = batch_size
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None
        self._restart_producer = False

    async def start(self) -> None:
        await self.publisher.start()
        await self._listen()
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.schema}")

    async def _listen(self) -> None:
        """Hold a connection that LISTENs on the schema's channel: a transaction's NOTIFY wakes the relay."""
        self._listener = await self.pool.acquire()
        await self._listener.add_listener(_channel(self.schema), self._on_notify)

    def _on_notify(self, *_: Any) -> None:
        self._wake.set()

    async def _keep_listening(self) -> None:
        """LISTEN again on a new connection once PostgreSQL closed the listener's (a restart, a backend
        terminated): until then every NOTIFY is lost and the relay only polls, once a second."""
        if self._listening():
            return
        if self._listener is not None:
            await self.pool.release(self._listener)  # nothing to do if the pool took it back already
            self._listener = None
        await self._listen()  # if PostgreSQL is still down, raised: the next round tries again
        log.info("outbox relay listening again", extra={"schema": self.schema})

    def _listening(self) -> bool:
        """Whether the listener's connection is open. The pool takes back a connection PostgreSQL
        closed, and its proxy then refuses every call."""
        if self._listener is None:
            return False
        try:
            return not self._listener.is_closed()
        except asyncpg.InterfaceError:
            return False

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._listener is not None:
            if self._listening():  # UNLISTEN before the connection goes back to the pool
                with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                    await self._listener.remove_listener(_channel(self.schema), self._on_notify)
            await self.pool.release(self._listener)
        await self.publisher.stop()

    async def _run(self) -> None:
        while True:
            # Cleared before reading the outbox, not after: a NOTIFY that arrives while a batch is being
            # published must wake the next round rather than wait for the polling fallback.
            self._wake.clear()
            try:
                await self._keep_listening()
                published = await self.publish_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying", extra={"schema": self.schema})
                await asyncio.sleep(1.0)
                continue
            if published < self.batch_size:
                # Polling fallback: a NOTIFY can be lost when the listener reconnects.
                await woken_or_timed_out(self._wake, 1.0)

    async def publish_pending(self) -> int:
        """Publish one batch of the outbox; return how many events were published."""
        async with self.pool.acquire() as conn, conn.transaction():
            lock = zlib.crc32(f"outbox:{self.schema}".encode())
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", lock):
                return 0
            # One event per item, in order: (row id, position in its run) for a run's events.
            items = await self._completed(conn, await conn.fetch(self.pending_sql, self.batch_size))
            if not items:
                metrics.OUTBOX_BACKLOG.labels(schema=self.schema).set(0)
                return 0
            # ids grow by one per event (a run's are reserved): the last id given tells the backlog without
            # counting (nor walking the index over the rows deleted since the last vacuum, as max(id) would)
            last = await conn.fetchval(f"SELECT last_value FROM {self.schema}.outbox_id_seq")
            metrics.OUTBOX_BACKLOG.labels(schema=self.schema).set(last - items[0]["id"] + 1)
            sent = iter(await self._send_all([item for item in items if item["missing"] is None]))
            outcomes = [item["missing"] or next(sent) for item in items]
            # Settled: the events up to the first that failed otherwise than by its size (a timeout, the
            # broker gone). That one and every event after it stay for the next round, published again
            # even if acknowledged: were a key's older state published after its newer one, the
            # compacted topic would keep the older. Its row stays whole: the events of its run before
            # it are published again too (their ids let the consumers' inboxes absorb them).
            failed = next((i for i, outcome in enumerate(outcomes) if _retriable(outcome)), len(items))
            settled = list(zip(items[:failed], outcomes[:failed], strict=True))
            await self._set_aside(conn, [(item, error) for item, error in settled if error is not None])
            kept = items[failed]["id"] if failed < len(items) else None
            deleted = {item["id"] for item, _ in settled} - {kept}
            await conn.execute(f"DELETE FROM {self.schema}.outbox WHERE id = ANY($1::bigint[])", sorted(deleted))
            published = [item for item, error in settled if error is None]
            if failed < len(items):
                log.warning(
                    "outbox events not acknowledged; sent again next round", extra={"error": repr(outcomes[failed])}
                )
                # After a refusal, an idempotent producer's later events on that partition fail out of
                # order: the next round starts a new producer.
                self._restart_producer = True
            for item in published:
                metrics.EVENTS_PRODUCED.labels(topic=item["topic"]).inc()
        if self.memory is not None:  # once the rows that named them are deleted
            self.memory.forget([item["document"] for item in items if item["document"] and item["id"] in deleted])
        return len(published)

    async def _completed(self, conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
        """The events with whole payloads: those written around a document get it from this process's
        memory, or else from the service's table (its DocumentReader). One whose document cannot be
        found (which its transaction stored) gets an error in its place, to be set aside rather than
        block the outbox."""
        named = sorted({DocumentRef(r["document_id"], r["document_hash"]) for r in rows if r["document_id"]},
                       key=lambda ref: (ref.id, ref.hash))  # fmt: skip
        found = self.memory.find(named) if self.memory is not None else {}
        if (unknown := [ref for ref in named if ref not in found]) and self.documents:
            found |= await self.documents(conn, unknown)
        completed = []
        for row in rows:
            payload, missing, ref = row["payload"], None, None
            if row["document_id"] is not None:
                ref = DocumentRef(row["document_id"], row["document_hash"])
                if (document := found.get(ref)) is not None:
                    payload = closed_around(payload, document)
                else:
                    missing = MissingDocument(f"the document of this event is not stored: {ref}")
            completed.append({**dict(row), "payload": payload, "missing": missing, "document": ref})
        return completed

    async def _send_all(self, rows: list[dict[str, Any]]) -> list[BaseException | None]:
        """Enqueue the rows in id order (aiokafka keeps that order per partition), then await every
        acknowledgement: per row, None once Kafka acknowledged it, else its error."""
        if self._restart_producer:  # until a new producer has started (the broker may still be away)
            await self.publisher.restart()
            self._restart_producer = False
        sent: list[Any] = []
        for row in rows:
            try:
                sent.append(await self.publisher.send(row["topic"], row["key"], row["event_type"], row["payload"]))
            except MessageSizeTooLargeError as error:  # above the producer's limit: no retry would publish it
                sent.append(error)
        futures = [item for item in sent if not isinstance(item, BaseException)]
        acks = iter(await asyncio.gather(*futures, return_exceptions=True))
        outcomes: list[BaseException | None] = [
            item if isinstance(item, BaseException) else _ack_error(next(acks)) for item in sent
        ]
        return outcomes

    async def _set_aside(self, conn: asyncpg.Connection, rejected: list[tuple[dict[str, Any], BaseException]]) -> None:
        """Keep the events Kafka refused for good in `outbox_rejected`, so that they are neither lost
        nor tried again before every event after them. One of a run sent again was set aside already."""
        if not rejected:
            return
        new = await conn.fetch(
            f"""INSERT INTO {self.schema}.outbox_rejected (id, position, topic, key, event_type, payload, error)
                SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[], $6::bytea[],
                                     $7::text[])
                ON CONFLICT (id, position) DO NOTHING
                RETURNING key, topic, error""",
            *([r[c] for r, _ in rejected] for c in ("id", "position", "topic", "key", "event_type", "payload")),
            [str(error) for _, error in rejected],
        )
        for row in new:
            log.error(
                "outbox event refused by Kafka, set aside in outbox_rejected",
                extra={"schema": self.schema, "topic": row["topic"], "key": row["key"], "error": row["error"]},
            )
        metrics.OUTBOX_REJECTED.labels(schema=self.schema).inc(len(new))


def _pending_sql(schema: str) -> str:
    """The statement reading the next events of the outbox, in order: those of the rows that start
    before `$1` events (a run is read whole). `taken` fetches the rows by their ids rather than by a
    join: with statistics taken while the outbox was empty between two bursts, the planner joined
    the head's ids by walking the outbox from its head for each of them (500 x 250 rows a read of
    single events, 100 ms in the consolidation benchmark; tests/integration/test_outbox_relay.py)."""
    return f"""
        WITH head AS (
            SELECT id, sum(events) OVER (ORDER BY id) - events AS before
            FROM (SELECT id, events FROM {schema}.outbox ORDER BY id LIMIT $1) h
        ),
        taken AS (SELECT * FROM {schema}.outbox WHERE id = ANY (ARRAY(SELECT id FROM head WHERE before < $1))),
        items AS (
            SELECT t.id, u.position::int - 1 AS position, t.topic, u.key, t.event_type, u.payload, u.document_id,
                   u.document_hash
            FROM taken t, unnest(coalesce(t.keys, ARRAY[t.key]), coalesce(t.payloads, ARRAY[t.payload]),
                                 coalesce(t.document_ids, ARRAY[NULL::text]),
                                 coalesce(t.document_hashes, ARRAY[NULL::text]))
                          WITH ORDINALITY AS u (key, payload, document_id, document_hash, position)
        )
        SELECT * FROM items ORDER BY id, position"""


class MissingDocument(LookupError):
    """An outbox event's document is not where its transaction stored it: set aside (with the bytes
    the outbox has of it), as no retry would find it."""


def _ack_error(ack: object) -> BaseException | None:
    """What an acknowledgement says went wrong: None, or its error (a refusal by the topic, named so)."""
    if isinstance(ack, MessageSizeTooLargeError):  # the producer let it through: above its topic's limit
        refused: BaseException = MessageSizeTooLargeError(f"above the topic's max.message.bytes: {ack}")
        return refused
    return ack if isinstance(ack, BaseException) else None


def _retriable(outcome: BaseException | None) -> bool:
    """A failure another attempt may overcome (anything but an event too large for Kafka)."""
    return outcome is not None and not isinstance(outcome, MessageSizeTooLargeError | MissingDocument)


class BulkPublisher:
    """A plain idempotent aiokafka producer (acks=all) for a hot path that publishes many events
    straight to Kafka, such as a harvest: a third of FastStream's cost per message, same guarantees.
    `publish(..., confirm=False)` returns the delivery future so that callers can pipeline."""

    def __init__(self, settings: Settings, client_id: str) -> None:
        self.settings = settings
        self.client_id = client_id
        self.producer: AIOKafkaProducer | None = None
        self._produced = functools.cache(lambda topic: metrics.EVENTS_PRODUCED.labels(topic=topic))

    async def start(self) -> None:
        # aiokafka binds its producer to the running loop: created here, not in __init__.
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            client_id=self.client_id,
            enable_idempotence=True,
            linger_ms=5,
            max_batch_size=256 * 1024,
            max_request_size=self.settings.max_event_bytes,
            partitioner=default_partitioner,
        )
        await self.producer.start()

    async def stop(self) -> None:
        if self.producer is not None:
            await self.producer.stop()

    async def restart(self) -> None:
        """A new producer (a new idempotent producer id), after Kafka refused part of what was sent."""
        await self.stop()
        await self.start()

    async def publish(self, event: Event | SerialisedEvent, confirm: bool = True) -> Any:
        serialised = event if isinstance(event, SerialisedEvent) else SerialisedEvent.of(event)
        topic = self.settings.topic(serialised.topic)
        future = await self.send(topic, serialised.key, serialised.event_type, serialised.payload)
        self._produced(topic).inc()
        return await future if confirm else future

    async def send(self, topic: str, key: str, event_type: str, payload: bytes) -> Any:
        """Enqueue one serialised event (`topic` already prefixed); returns its delivery future."""
        assert self.producer is not None, "send after start"
        headers = [("content-type", b"application/json"), ("event_type", event_type.encode())]
        return await self.producer.send(topic, payload, key=key.encode(), headers=headers)
