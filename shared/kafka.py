"""The FastStream Kafka broker every service uses: idempotent producer (acks=all), dead-letter and
Prometheus middlewares. Consumers use `subscribe()`: a group id, offsets read from the earliest,
committed only after the handler (and so its database transaction) succeeded."""

import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import REGISTRY

from shared.deadletter import DeadLetterPolicy
from shared.settings import Settings


def create_broker(settings: Settings, service: str, policy: DeadLetterPolicy | None = None) -> KafkaBroker:
    policy = policy or DeadLetterPolicy(settings.max_attempts, settings.retry_backoff_seconds)
    broker = KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=f"observatoire-{service}",
        enable_idempotence=True,  # forces acks=all
        linger_ms=5,
        max_batch_size=256 * 1024,
        max_request_size=settings.max_event_bytes,
        middlewares=(
            KafkaPrometheusMiddleware(registry=REGISTRY, app_name=service),
            policy,
        ),
        graceful_timeout=15.0,
        # FastStream logs every message received and processed: useful when debugging, noise otherwise.
        logger=logging.getLogger("faststream"),
        log_level=logging.DEBUG,
    )
    policy.broker = broker
    return broker


def subscriber_options(settings: Settings, service: str, topic: str) -> dict[str, Any]:
    """Options for `broker.subscriber(...)`: at-least-once delivery within the service's group."""
    return {
        "title": f"{topic}:{service}",  # AsyncAPI channel name: one per (topic, consuming service)
        "group_id": settings.group(service, topic),
        "ack_policy": AckPolicy.NACK_ON_ERROR,
        "auto_offset_reset": "earliest",
    }


def declare_publisher(
    broker: KafkaBroker, settings: Settings, service: str, topic: str, schema: Any, description: str
) -> None:
    """Declare what a service publishes on `topic`, for the AsyncAPI document (the outbox relay and
    `publish_event` do the publishing)."""
    broker.publisher(settings.topic(topic), title=f"{topic}:{service}", schema=schema, description=description)


async def end_offsets(settings: Settings, topic: str) -> dict[TopicPartition, int]:
    """The next offset of each partition of `topic` (how many records each has received)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None)
    await admin.start()
    await consumer.start()
    try:
        described = await admin.describe_topics([topic])
        partitions = [TopicPartition(topic, p["partition"]) for t in described for p in t["partitions"]]
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return ends
    finally:
        await consumer.stop()
        await admin.close()


async def consumer_lag(settings: Settings, group: str, topic: str) -> int:
    """Messages of `topic` not yet committed by `group` (all of them if the group never committed)."""
    return (await consumer_lags(settings, [(group, topic)]))[(group, topic)]


async def consumer_lags(settings: Settings, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The lag of each (group, topic), read with one admin client and one consumer for all of them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None)
    await admin.start()
    await consumer.start()
    try:
        topics = sorted({topic for _, topic in pairs})
        described = await admin.describe_topics(topics)
        partitions = {t["topic"]: [TopicPartition(t["topic"], p["partition"]) for p in t["partitions"]]
                      for t in described}  # fmt: skip
        ends: dict[TopicPartition, int] = await consumer.end_offsets([p for ps in partitions.values() for p in ps])
        lags = {}
        for group, topic in pairs:
            owned = partitions.get(topic, [])
            committed = await admin.list_consumer_group_offsets(group, partitions=owned)
            lags[(group, topic)] = sum(
                ends[tp] - (committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0)
                for tp in owned
            )
        return lags
    finally:
        await consumer.stop()
        await admin.close()


async def groups_lag(settings: Settings) -> list[dict[str, Any]]:
    """Every consumer group of this deployment (its topic prefix) with its lag per topic."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None)
    await admin.start()
    await consumer.start()
    try:
        groups = sorted(g[0] for g in await admin.list_consumer_groups() if g[0].startswith(settings.topic_prefix))
        committed = {group: await admin.list_consumer_group_offsets(group) for group in groups}
        partitions = {tp for offsets in committed.values() for tp in offsets}
        ends: dict[TopicPartition, int] = await consumer.end_offsets(list(partitions)) if partitions else {}
        lags = []
        for group, offsets in committed.items():
            per_topic: dict[str, int] = {}
            for tp, meta in offsets.items():
                per_topic[tp.topic] = per_topic.get(tp.topic, 0) + max(ends.get(tp, 0) - max(meta.offset, 0), 0)
            lags += [{"group": group, "topic": topic, "lag": lag} for topic, lag in sorted(per_topic.items())]
        return lags
    finally:
        await consumer.stop()
        await admin.close()


async def message_counts(settings: Settings, topics: list[str]) -> dict[str, int]:
    """Messages each topic holds now (end minus beginning offsets, over its partitions)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None)
    await admin.start()
    await consumer.start()
    try:
        described = await admin.describe_topics(topics)
        partitions = [TopicPartition(t["topic"], p["partition"]) for t in described if not t["error_code"]
                      for p in t["partitions"]]  # fmt: skip
        starts = await consumer.beginning_offsets(partitions) if partitions else {}
        ends = await consumer.end_offsets(partitions) if partitions else {}
        counts = dict.fromkeys(topics, 0)
        for tp in partitions:
            counts[tp.topic] += ends[tp] - starts[tp]
        return counts
    finally:
        await consumer.stop()
        await admin.close()
