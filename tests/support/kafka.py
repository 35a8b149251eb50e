"""Reading and writing topics directly, as another system would."""

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from shared.kafka import consumer_lag
from shared.kafka import end_offsets as partition_ends
from shared.settings import Settings


async def produce(
    settings: Settings,
    topic: str,
    value: bytes,
    key: bytes | None = None,
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(settings.topic(topic), value, key=key, headers=headers or [])
    finally:
        await producer.stop()


async def produce_many(settings: Settings, topic: str, messages: list[tuple[bytes | None, bytes]]) -> None:
    """(key, value) pairs, in order, through one producer."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_idempotence=True)
    await producer.start()
    try:
        for key, value in messages:
            await producer.send(settings.topic(topic), value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


async def read_all(settings: Settings, topic: str, *, idle_ms: int = 1500) -> list[ConsumerRecord[Any, Any]]:
    """Every record of `topic` from offset zero, until the topic stays idle for `idle_ms`."""
    consumer = AIOKafkaConsumer(
        settings.topic(topic),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    records: list[ConsumerRecord[Any, Any]] = []
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=idle_ms)
            if not batch:
                return records
            for part in batch.values():
                records.extend(part)
    finally:
        await consumer.stop()


async def read_to_end(settings: Settings, topic: str) -> list[ConsumerRecord[Any, Any]]:
    """Every record `topic` holds when called: read from offset zero to each partition's end offset,
    without waiting for the topic to fall idle (for a chain known to be settled)."""
    ends = {tp: end for tp, end in (await partition_ends(settings, settings.topic(topic))).items() if end}
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    records: list[ConsumerRecord[Any, Any]] = []
    try:
        consumer.assign(list(ends))
        await consumer.seek_to_beginning(*ends)
        while ends:
            for part in (await consumer.getmany(timeout_ms=1000)).values():
                records.extend(part)
            ends = {tp: end for tp, end in ends.items() if await consumer.position(tp) < end}
        return records
    finally:
        await consumer.stop()


async def wait_for(predicate: Any, *, timeout: float = 120.0, interval: float = 0.2) -> Any:
    """Poll an async predicate until it returns a truthy value; fail with the last value otherwise."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while asyncio.get_running_loop().time() < deadline:
        last = await predicate()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s; last value: {last!r}")


async def drained(settings: Settings, service: str, topic: str, timeout: float = 180.0) -> None:
    """Wait until `service` has committed every message of `topic`."""

    async def no_lag() -> bool:
        return await consumer_lag(settings, settings.group(service, topic), settings.topic(topic)) == 0

    await wait_for(no_lag, timeout=timeout, interval=0.5)


async def end_offsets(settings: Settings, topic: str) -> int:
    """How many records `topic` has received in all (sum of its partitions' end offsets)."""
    return sum((await partition_ends(settings, settings.topic(topic))).values())
