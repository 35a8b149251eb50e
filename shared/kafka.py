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
    ends = await end_offsets(settings, topic)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group, partitions=list(ends))
    finally:
        await admin.close()
    return sum(
        end - (committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0) for tp, end in ends.items()
    )
