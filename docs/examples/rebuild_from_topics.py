"""Rebuild what the Observatoire publishes from its compacted Kafka topics, as another system would:
read registry.organizations and indicators.updated from offset zero, keep the latest event per key,
and print the number of active organisations and the national indicators as JSON.

    python docs/examples/rebuild_from_topics.py --bootstrap 127.0.0.1:9092 [--prefix ""]

Needs only aiokafka. See docs/events.md.
"""

import argparse
import asyncio
import json
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition


async def latest_by_key(bootstrap: str, topic: str) -> dict[bytes, dict[str, Any]]:
    """Every key of the topic with its latest event (compaction keeps at least that one)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"
    )  # no group: every partition, from the beginning, nothing committed
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        ends = await consumer.end_offsets(partitions)  # read up to what the topic holds now
        latest: dict[bytes, dict[str, Any]] = {}
        while [p for p in partitions if await consumer.position(p) < ends[p]]:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    if record.value is None:  # a tombstone: the key is gone
                        latest.pop(record.key, None)
                    else:
                        latest[record.key] = json.loads(record.value)
        return latest
    finally:
        await consumer.stop()


async def main(bootstrap: str, prefix: str) -> None:
    organizations = await latest_by_key(bootstrap, f"{prefix}registry.organizations")
    indicators = await latest_by_key(bootstrap, f"{prefix}indicators.updated")
    national = next((e["values"] for e in indicators.values() if e["scope"] == "national"), None)
    active = sum(1 for e in organizations.values() if e["organization"]["status"] == "active")
    print(json.dumps({"organizations": active, "organization_keys": len(organizations), "national": national}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--prefix", default="", help="topic prefix of the deployment (empty by default)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.bootstrap, arguments.prefix))
