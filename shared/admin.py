"""Operator commands for the shared infrastructure.

python -m shared.admin init              create the database, roles, schemas and every topic
python -m shared.admin topics            create the missing topics only
python -m shared.admin replay-dlq TOPIC  publish the dead letters of TOPIC back to TOPIC
python -m shared.admin requeue-rejected SCHEMA
                                         put the events SCHEMA's outbox set aside back in it
python -m shared.admin drop              drop the database and delete the topics (tests)
"""

import argparse
import asyncio
import sys

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.bootstrap import (
    OWNED_SCHEMAS,
    admin_connect,
    bootstrap_database,
    delete_topics,
    drop_database,
    ensure_topics,
)
from shared.messaging import requeue_rejected
from shared.settings import Settings
from shared.topics import DLQ_SUFFIX, dlq

DLQ_HEADERS = (
    "x-error-type",
    "x-error-message",
    "x-attempts",
    "x-source-topic",
    "x-source-partition",
    "x-source-offset",
    "x-consumer-group",
)


async def replay_dead_letters(settings: Settings, topic: str) -> int:
    """Publish every record of `<topic>.dlq` back to `topic` (without the x- headers), then commit
    the replay group's offsets so a second replay only sends what was dead-lettered since."""
    source = settings.topic(topic.removesuffix(DLQ_SUFFIX))
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=f"{settings.topic_prefix}dlq-replay",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_idempotence=True,
        max_request_size=settings.max_event_bytes,
    )
    await consumer.start()
    await producer.start()
    replayed = 0
    try:
        partition = TopicPartition(dlq(source), 0)
        consumer.assign([partition])
        end = (await consumer.end_offsets([partition]))[partition]
        while await consumer.position(partition) < end:
            batch = await consumer.getmany(partition, timeout_ms=1000)
            for record in batch.get(partition, []):
                headers = [(k, v) for k, v in record.headers if k not in DLQ_HEADERS]
                await producer.send_and_wait(source, record.value, key=record.key, headers=headers)
                replayed += 1
            await consumer.commit()
    finally:
        await producer.stop()
        await consumer.stop()
    return replayed


async def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.admin", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("init")
    sub.add_parser("topics")
    sub.add_parser("drop")
    replay = sub.add_parser("replay-dlq")
    replay.add_argument("topic", help="the source topic (or its .dlq)")
    requeue = sub.add_parser("requeue-rejected")
    requeue.add_argument("schema", choices=sorted(OWNED_SCHEMAS.values()), help="the service schema of the outbox")
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "init":
        await bootstrap_database(settings)
        created = await ensure_topics(settings)
        print(f"database {settings.db_name} ready; topics created: {len(created)}")
    elif args.command == "topics":
        created = await ensure_topics(settings)
        print(f"topics created: {', '.join(created) or 'none'}")
    elif args.command == "drop":
        await drop_database(settings)
        await delete_topics(settings)
        print(f"dropped database {settings.db_name} and the topics")
    elif args.command == "replay-dlq":
        count = await replay_dead_letters(settings, args.topic)
        print(f"replayed {count} message(s) to {args.topic.removesuffix(DLQ_SUFFIX)}")
    elif args.command == "requeue-rejected":
        conn = await admin_connect(settings, settings.db_name)
        try:
            count = await requeue_rejected(conn, args.schema)
        finally:
            await conn.close()
        print(f"put {count} event(s) back in {args.schema}.outbox")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(_main(sys.argv[1:])))
