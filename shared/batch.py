"""Batch consumption for high-volume topics (the référentiel, the registry's compacted topics).

A batch is handled in one transaction, with the inbox claiming every event id at once. Each message
is validated on its own while the batch is decoded: a poison message goes to the dead-letter topic
alone and the rest of the batch is handled, so one bad record never holds back hundreds of good ones.
"""

import json
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import asyncpg
from pydantic import TypeAdapter, ValidationError

from shared import metrics
from shared.deadletter import DeadLetterPolicy, dead_letter
from shared.events import Emitted, Event
from shared.messaging import add_to_outbox, inbox_consumer
from shared.settings import Settings

if TYPE_CHECKING:
    from shared.service import Runtime

BatchHandler = Callable[[asyncpg.Connection, Any], Awaitable[Sequence[Emitted]]]


def batch_options(
    settings: Settings,
    service: str,
    topic: str,
    adapter: TypeAdapter[Any],
    policy: DeadLetterPolicy,
    max_records: int = 500,
) -> dict[str, Any]:
    """Options for a batch `broker.subscriber(...)` whose handler receives only valid events."""
    from shared.kafka import subscriber_options

    group = settings.group(service, topic)

    async def decode_valid_only(message: Any) -> list[Any]:
        valid: list[Any] = []
        for record in message.raw_message:
            try:
                valid.append(adapter.validate_json(record.value or b""))  # parsed and validated once
            except (json.JSONDecodeError, UnicodeDecodeError, ValidationError) as exc:
                await dead_letter(policy.broker, record, exc, attempts=1, group=group)
        return valid

    return {
        **subscriber_options(settings, service, topic),
        "batch": True,
        "max_records": max_records,
        "batch_timeout_ms": 100,
        "decoder": decode_valid_only,
    }


async def handle_batch_once(
    pool: asyncpg.Pool,
    schema: str,
    settings: Settings,
    consumer: str,
    events: Sequence[Event],
    handler: BatchHandler,
) -> int:
    """Apply `handler` to the events of the batch not handled before, in one transaction; return
    how many were new."""
    if not events:
        return 0
    metrics.BATCH_SIZE.labels(consumer=consumer).observe(len(events))
    started = time.perf_counter()
    async with pool.acquire() as conn, conn.transaction():
        claimed = {
            row["event_id"]
            for row in await conn.fetch(
                f"INSERT INTO {schema}.inbox (consumer, event_id) SELECT $1, unnest($2::uuid[]) "
                "ON CONFLICT DO NOTHING RETURNING event_id",
                consumer,
                [e.event_id for e in events],
            )
        }
        fresh = []
        for event in events:  # a batch may hold the same event twice: keep its first copy
            if event.event_id in claimed:
                claimed.discard(event.event_id)
                fresh.append(event)
        if len(fresh) < len(events):
            metrics.EVENTS_DUPLICATE.labels(consumer=consumer).inc(len(events) - len(fresh))
        emitted = await handler(conn, fresh) if fresh else []
        await add_to_outbox(conn, schema, settings, emitted)
    metrics.BATCH_SECONDS.labels(consumer=consumer).observe(time.perf_counter() - started)  # committed batches
    return len(fresh)


def subscribe_batch(
    runtime: "Runtime",
    topic: str,
    event_type: Any,
    handler: BatchHandler,
    description: str,
    max_records: int = 500,
) -> None:
    """Register a batch consumer of `topic` on the service's broker: valid events of `event_type`
    only (poison ones dead-lettered one by one), each batch handled once in one transaction with
    its outbox."""
    settings, schema, consumer = runtime.settings, runtime.schema, inbox_consumer(runtime.service, topic)
    assert schema is not None, "batch consumers keep their inbox in the service's schema"

    async def on_batch(events: list[Any]) -> None:
        await handle_batch_once(runtime.pool, schema, settings, consumer, events, handler)

    # FastStream reads the payload's schema (validation, AsyncAPI) from the annotation.
    on_batch.__annotations__["events"] = list[event_type]
    on_batch.__name__ = f"on_{topic.replace('.', '_')}"
    adapter: TypeAdapter[Any] = TypeAdapter(event_type)
    options = batch_options(settings, runtime.service, topic, adapter, runtime.dead_letters, max_records)
    runtime.broker.subscriber(settings.topic(topic), **options, description=description)(on_batch)
