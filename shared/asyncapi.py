"""Generates docs/asyncapi.yaml from the five services' FastStream brokers (subscribers and declared
publishers), so the event catalogue cannot drift from the code.

    python -m shared.asyncapi > docs/asyncapi.yaml
"""

import importlib
import json
import sys

import yaml
from faststream.specification import AsyncAPI

from shared.settings import SERVICES, Settings


def generate() -> str:
    settings = Settings(topic_prefix="")
    brokers = [
        importlib.import_module(f"services.{service}.app").create_runtime(settings).broker for service in SERVICES
    ]
    spec = AsyncAPI(
        *brokers,
        title="Observatoire de l'open data des territoires - events",
        version="1",
        description=(
            "Kafka topics of the Observatoire. Compacted topics (registry.organizations, registry.datasets, "
            "indicators.updated) hold the latest full state per key: read them from offset zero to rebuild "
            "the registry and the indicators. Every event carries event_id, event_type, schema_version, "
            "occurred_at, producer and correlation_id."
        ),
    )
    # FastStream keeps subscribers in a WeakSet: their order changes from one process to the next.
    # Sorting every mapping makes the document reproducible, so a stale copy is detectable.
    document = json.loads(spec.to_specification().to_json())
    return str(yaml.safe_dump(document, sort_keys=True, allow_unicode=True, width=110))


if __name__ == "__main__":
    sys.stdout.write(generate())
