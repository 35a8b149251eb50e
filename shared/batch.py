"""Batch consumption for high-volume topics (harvested datasets, the référentiel, the registry's
compacted topics).

A batch is handled in one transaction with what recognises its redeliveries, either:
- the inbox, claiming every event id at once (a row per event): a copy of an event published twice,
  at another offset, is recognised too;
- the consumer's offsets (`by_offsets`): the transaction stores, per partition, the offset after the
  last message it applied (a row per partition and batch). A batch read again finds its messages
  below it. A copy at another offset is not recognised by position: the handler itself finds the
  events whose effect its tables already hold, while it reads them for its own work (the
  consolidator: a sighting not newer than the one its portal record keeps), and says how many it
  recognised (`Handled`); copies within one batch are dropped by id before it.

One bad record never holds back hundreds of good ones:
- each message is validated on its own while the batch is decoded: a poison message goes to the
  dead-letter topic alone and the rest of the batch is handled;
- a valid event the handler cannot apply (a title with a NUL character, which PostgreSQL's text
  refuses) fails its batch's transaction: the halves are then handled apart, down to the event that
  fails alone, which is tried again and then dead-lettered alone (`handle_isolating_poison`). A
  batch whose statement outlasts its timeout while PostgreSQL answers is halved the same way.
"""

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

import asyncpg
from aiokafka import ConsumerRecord
from pydantic import TypeAdapter, ValidationError

from shared import metrics
from shared.deadletter import DeadLetterPolicy, dead_letter
from shared.events import Emitted, Event
from shared.messaging import DocumentMemory, add_to_outbox, inbox_consumer
from shared.settings import Settings

if TYPE_CHECKING:
    from shared.service import Runtime


@dataclass(frozen=True)
class Handled:
    """What a handler that recognises copies returns: the events it emits, and how many of the batch's
    events it found already applied (their effect was in its tables: it left them alone)."""

    emitted: Sequence[Emitted]
    already_applied: int = 0


BatchHandler = Callable[[asyncpg.Connection, Any], Awaitable[Sequence[Emitted] | Handled]]
Position = tuple[int, int]  # (partition, offset) of the message an event came from


log = logging.getLogger(__name__)
E = TypeVar("E")  # an event, as the handler receives it


class ValidOnlyDecoder:
    """Decodes a batch into its valid events, dead-lettering the others one by one. Remembers the
    record each event came from, so that an event the handler cannot apply can be dead-lettered alone."""

    def __init__(self, adapter: TypeAdapter[Any], policy: DeadLetterPolicy, group: str) -> None:
        self.adapter, self.policy, self.group = adapter, policy, group
        self.records: dict[UUID, ConsumerRecord[Any, Any]] = {}  # of the batch being handled

    async def __call__(self, message: Any) -> list[Any]:
        valid: list[Any] = []
        self.records = {}
        for record in message.raw_message:
            try:
                event = self.adapter.validate_json(record.value or b"")  # parsed and validated once
            except (json.JSONDecodeError, UnicodeDecodeError, ValidationError) as exc:
                await dead_letter(self.policy.broker, record, exc, attempts=1, group=self.group)
                continue
            valid.append(event)
            self.records[event.event_id] = record
        return valid

    def position(self, event: Event) -> Position:
        record = self.records[event.event_id]
        return record.partition, record.offset

    async def dead_letter(self, event: Event, exc: BaseException, attempts: int) -> None:
        await dead_letter(self.policy.broker, self.records[event.event_id], exc, attempts=attempts, group=self.group)


def batch_options(
    settings: Settings, service: str, topic: str, decoder: ValidOnlyDecoder, max_records: int = 500
) -> dict[str, Any]:
    """Options for a batch `broker.subscriber(...)` whose handler receives only valid events."""
    from shared.kafka import subscriber_options

    return {
        **subscriber_options(settings, service, topic),
        "batch": True,
        "max_records": max_records,
        "batch_timeout_ms": 100,
        "decoder": decoder,
    }


async def handle_batch_once(
    pool: asyncpg.Pool,
    schema: str,
    settings: Settings,
    consumer: str,
    events: Sequence[Event],
    handler: BatchHandler,
    positions: Sequence[Position] | None = None,
    memory: DocumentMemory | None = None,
) -> int:
    """Apply `handler` to the events of the batch not handled before, in one transaction; return
    how many were new. With `positions` (each event's partition and offset), redeliveries are
    recognised by the offsets stored with each batch; without, by the inbox. With `memory`, the
    documents its events are written around are kept for this process's relay."""
    if not events:
        return 0
    metrics.BATCH_SIZE.labels(consumer=consumer).observe(len(events))
    started = time.perf_counter()
    async with pool.acquire() as conn, conn.transaction():
        if positions is None:
            fresh = await _claim_in_inbox(conn, schema, consumer, events)
        else:
            fresh = _first_copies(await _claim_offsets(conn, schema, consumer, events, positions))
        outcome = await handler(conn, fresh) if fresh else Handled([])
        if not isinstance(outcome, Handled):
            outcome = Handled(outcome)
        await add_to_outbox(conn, schema, settings, outcome.emitted)
        if memory is not None:  # before the commit wakes the relay: a document is named by its hash
            memory.keep(outcome.emitted)
    handled = len(fresh) - outcome.already_applied
    if handled < len(events):
        metrics.EVENTS_DUPLICATE.labels(consumer=consumer).inc(len(events) - handled)
    metrics.BATCH_SECONDS.labels(consumer=consumer).observe(time.perf_counter() - started)  # committed batches
    return handled


async def _claim_in_inbox(conn: asyncpg.Connection, schema: str, consumer: str, events: Sequence[Event]) -> list[Event]:
    """The events of the batch the inbox had not seen, now claimed there."""
    claimed = {
        row["event_id"]
        for row in await conn.fetch(
            f"INSERT INTO {schema}.inbox (consumer, event_id) SELECT $1, unnest($2::uuid[]) "
            "ON CONFLICT DO NOTHING RETURNING event_id",
            consumer,
            [e.event_id for e in events],
        )
    }
    return [e for e in _first_copies(events) if e.event_id in claimed]


async def _claim_offsets(
    conn: asyncpg.Connection, schema: str, consumer: str, events: Sequence[Event], positions: Sequence[Position]
) -> list[Event]:
    """The events at or after the offsets stored for their partitions, which move past the batch. The
    partitions' rows stay locked until the commit: another instance handed the same messages by a
    rebalance waits, then finds them applied."""
    ends: dict[int, int] = {}
    for partition, offset in positions:
        ends[partition] = max(ends.get(partition, 0), offset + 1)
    partitions = sorted(ends)
    await conn.execute(
        f"INSERT INTO {schema}.consumer_offsets (consumer, partition) SELECT $1, unnest($2::int[]) "
        "ON CONFLICT DO NOTHING",
        consumer,
        partitions,
    )
    stored = {
        r["partition"]: r["next_offset"]
        for r in await conn.fetch(
            f"""SELECT partition, next_offset FROM {schema}.consumer_offsets
                WHERE consumer = $1 AND partition = ANY($2::int[]) ORDER BY partition FOR UPDATE""",
            consumer,
            partitions,
        )
    }
    await conn.execute(
        f"""UPDATE {schema}.consumer_offsets o SET next_offset = greatest(o.next_offset, e.next_offset)
            FROM unnest($2::int[], $3::bigint[]) AS e (partition, next_offset)
            WHERE o.consumer = $1 AND o.partition = e.partition""",
        consumer,
        partitions,
        [ends[p] for p in partitions],
    )
    return [e for e, (partition, offset) in zip(events, positions, strict=True) if offset >= stored[partition]]


def _first_copies(events: Sequence[Event]) -> list[Event]:
    """A batch may hold the same event twice (published twice): its first copy only."""
    seen: set[UUID] = set()
    first = []
    for event in events:
        if event.event_id not in seen:
            seen.add(event.event_id)
            first.append(event)
    return first


async def handle_isolating_poison(
    handle: Callable[[Sequence[E]], Awaitable[int]],
    events: Sequence[E],
    dead_letter_one: Callable[[E, BaseException, int], Awaitable[None]],
    policy: DeadLetterPolicy,
) -> None:
    """`handle` the batch; if it fails for a reason of its own (not PostgreSQL or the network being
    down: that is raised, and the batch is read again), handle its halves apart, down to the events
    that fail alone. Such an event is tried `policy.max_attempts` times in all, then dead-lettered:
    the rest of its batch is applied, each half in its own transaction, in the batch's order.

    A statement cancelled for outlasting its timeout is the batch's own failure when PostgreSQL
    answers at once afterwards (`DeadLetterPolicy.is_outage`): read again whole, it would time out
    again for ever (an indicators batch did, at 300,000 datasets)."""
    if (error := await _failure_of(handle, events, policy)) is None:
        return
    if len(events) > 1:
        log.warning("batch failed; handling its halves apart", extra={"events": len(events), "error": repr(error)})
        middle = len(events) // 2
        await handle_isolating_poison(handle, events[:middle], dead_letter_one, policy)
        await handle_isolating_poison(handle, events[middle:], dead_letter_one, policy)
        return
    for attempt in range(2, policy.max_attempts + 1):
        await asyncio.sleep(policy.pause_after(attempt - 1))
        if (error := await _failure_of(handle, events, policy)) is None:
            return
    await dead_letter_one(events[0], error, policy.max_attempts)


async def _failure_of(
    handle: Callable[[Sequence[E]], Awaitable[int]], events: Sequence[E], policy: DeadLetterPolicy
) -> Exception | None:
    """The error `handle` failed with on these events, None if it did not; an outage is raised."""
    try:
        await handle(events)
    except Exception as exc:
        if await policy.is_outage(exc):
            raise
        return exc
    return None


def subscribe_batch(
    runtime: "Runtime",
    topic: str,
    event_type: Any,
    handler: BatchHandler,
    description: str,
    max_records: int = 500,
    by_offsets: bool = False,
) -> None:
    """Register a batch consumer of `topic` on the service's broker: valid events of `event_type`
    only (poison ones dead-lettered one by one), each batch handled once in one transaction with
    its outbox (an event it cannot apply is isolated and dead-lettered alone). Redeliveries are
    recognised by the inbox, or `by_offsets` (see the module's docstring)."""
    settings, schema, consumer = runtime.settings, runtime.schema, inbox_consumer(runtime.service, topic)
    assert schema is not None, "batch consumers keep their inbox in the service's schema"
    policy = runtime.dead_letters
    decoder = ValidOnlyDecoder(TypeAdapter(event_type), policy, settings.group(runtime.service, topic))

    async def handle(events: Sequence[Event]) -> int:
        positions = [decoder.position(e) for e in events] if by_offsets else None
        handled = await handle_batch_once(
            runtime.pool, schema, settings, consumer, events, handler, positions, runtime.outbox_memory
        )
        consumed = metrics.EVENTS_CONSUMED.labels(topic=topic, consumer=consumer, outcome="handled")
        consumed.inc(handled)
        if handled < len(events):  # the rest were redeliveries, recognised
            metrics.EVENTS_CONSUMED.labels(topic=topic, consumer=consumer, outcome="duplicate").inc(
                len(events) - handled
            )
        return handled

    async def on_batch(events: list[Any]) -> None:
        await handle_isolating_poison(handle, events, decoder.dead_letter, policy)

    # FastStream reads the payload's schema (validation, AsyncAPI) from the annotation.
    on_batch.__annotations__["events"] = list[event_type]
    on_batch.__name__ = f"on_{topic.replace('.', '_')}"
    options = batch_options(settings, runtime.service, topic, decoder, max_records)
    runtime.broker.subscriber(settings.topic(topic), **options, description=description)(on_batch)
