"""The ground every feature stands on: topics, database roles and schemas, service endpoints."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.bootstrap import delete_topics, ensure_topics
from shared.messaging import inbox_consumer, prunable_consumers, prune_inbox
from shared.settings import SERVICES, Settings
from shared.topics import all_topics
from tests.support.db import connect_as
from tests.support.kafka import wait_for
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.integration


async def topic_configs(settings: Settings) -> tuple[dict[str, int], dict[str, dict[str, str]]]:
    """Partitions and settings of every topic of the design, as the broker describes them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        names = [settings.topic(s.name) for s in all_topics()]
        described = await admin.describe_topics(names)
        partitions = {t["topic"]: len(t["partitions"]) for t in described}
        configs = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name) for name in names])
    finally:
        await admin.close()
    entries = {}
    for response in configs:
        for resource in response.to_object()["resources"]:
            entries[resource["resource_name"]] = {
                e["config_names"]: e["config_value"] for e in resource["config_entries"]
            }
    return partitions, entries


async def test_every_topic_exists_with_its_partitions_and_cleanup_policy(infrastructure: Settings):
    settings = infrastructure
    specs = {settings.topic(s.name): s for s in all_topics()}
    partitions, configs = await topic_configs(settings)
    assert partitions == {name: spec.partitions for name, spec in specs.items()}
    assert {name: c["cleanup.policy"] for name, c in configs.items()} == {
        name: "compact" if spec.compacted else "delete" for name, spec in specs.items()
    }
    # Events larger than Kafka's default 1 MB (a dataset with thousands of files) fit, dead-lettered too.
    assert {c["max.message.bytes"] for c in configs.values()} == {str(settings.max_event_bytes)}
    assert {n for n, s in specs.items() if s.compacted} == {
        settings.topic(t)
        for t in ("registry.organizations", "registry.datasets", "indicators.updated", "harvest.reuses")
    }


async def _described_with_its_limit(settings: Settings) -> dict[str, dict[str, str]] | None:
    """The settings of every topic once the broker describes them all with `max_event_bytes` (it
    applies a topic's creation, and a change of its settings, a moment after answering)."""
    _, configs = await topic_configs(settings)
    expected = str(settings.max_event_bytes)
    every = len(configs) == len(all_topics()) and all(c.get("max.message.bytes") == expected for c in configs.values())
    return configs if every else None


async def test_topics_created_before_a_larger_event_limit_are_brought_up_to_it(infrastructure: Settings):
    earlier = infrastructure.model_copy(
        update={"topic_prefix": f"{infrastructure.topic_prefix}limit.", "max_event_bytes": 2**20}
    )
    later = earlier.model_copy(update={"max_event_bytes": 8 * 2**20})
    try:
        assert len(await ensure_topics(earlier)) == len(all_topics())
        await wait_for(lambda: _described_with_its_limit(earlier), timeout=30)
        assert await ensure_topics(later) == []  # none created: the existing ones are updated
        configs = await wait_for(lambda: _described_with_its_limit(later), timeout=30)  # 8 MiB each
    finally:
        await delete_topics(later)
    compacted = {later.topic(s.name) for s in all_topics() if s.compacted}
    for name, config in configs.items():  # the other settings are kept
        assert config["cleanup.policy"] == ("compact" if name in compacted else "delete"), name
        assert (config["retention.ms"] == "-1") == (name in compacted), name


async def test_each_service_owns_its_schema_and_the_api_only_reads(services, settings: Settings):
    expected = {
        "harvester": "harvest",
        "consolidator": "registry",
        "indicators": "indicators",
        "contributions": "contributions",
    }
    admin = await connect_as(settings, "consolidator")
    owners = dict(
        await admin.fetch(
            "SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = ANY($1::text[])",
            list(expected.values()),
        )
    )
    await admin.close()
    assert owners == {schema: settings.db_user_of(service) for service, schema in expected.items()}

    for service, schema in expected.items():
        conn = await connect_as(settings, service)
        versions = await conn.fetch(f"SELECT version FROM {schema}.schema_migrations ORDER BY version")
        await conn.close()
        assert [r["version"] for r in versions][:2] == [0, 1], f"{schema} migrations not applied"

    api = await connect_as(settings, "api")
    try:  # the api reads the views each owner publishes, never the owners' tables
        assert await api.fetchval("SELECT count(*) FROM registry_read.organizations") >= 0
        assert await api.fetchval("SELECT count(*) FROM indicators_read.organization_list") >= 0
        assert await api.fetchval("SELECT count(*) FROM harvest_read.sources") >= 0
        for table in ("registry.organizations", "indicators.organization_list", "harvest.sources",
                      "contributions.tokens"):  # fmt: skip
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await api.fetchval(f"SELECT count(*) FROM {table}")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await api.execute("INSERT INTO registry_read.organizations (id, name) VALUES ('x', 'x')")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await api.execute("DELETE FROM indicators_read.current_values")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await api.execute("CREATE TABLE registry_read.intruder (id int)")
    finally:
        await api.close()

    harvester = await connect_as(settings, "harvester")
    try:
        assert await harvester.fetchval("SELECT count(*) FROM contributions_read.tokens") >= 0
        for table in ("registry.organizations", "registry_read.organizations", "contributions.tokens"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await harvester.execute(f"SELECT * FROM {table}")
    finally:
        await harvester.close()


async def test_every_service_serves_health_readiness_and_metrics(services, http):
    for name in SERVICES:
        url = services[name].url
        async with http.get(f"{url}/healthz") as response:
            assert response.status == 200
        async with http.get(f"{url}/readyz") as response:
            assert response.status == 200
            assert await response.json() == {"ready": True, "checks": {"kafka": True, "postgresql": True}}
        async with http.get(f"{url}/metrics") as response:
            assert response.status == 200
            assert f'obs_service_ready{{service="{name}"}} 1.0' in await response.text()


@pytest.mark.parametrize("broken", ["kafka", "postgresql"])
async def test_a_service_is_alive_but_not_ready_while_a_dependency_is_down(infrastructure, log_dir, http, broken):
    # Port 9 (discard) has no listener: the dependency does not answer.
    overrides: dict[str, object] = {"kafka_bootstrap_servers": "127.0.0.1:9"} if broken == "kafka" else {"db_port": 9}
    settings = infrastructure.model_copy(update={"api_port": 18010, **overrides})
    process = ServiceProcess("api", settings, log_dir)
    process.start()
    try:

        async def healthy():
            try:
                async with http.get(f"{process.url}/healthz") as response:
                    return response.status == 200
            except OSError:
                return False

        await wait_for(healthy, timeout=30)
        async with http.get(f"{process.url}/readyz") as response:
            body = await response.json()
            assert response.status == 503
            assert body["checks"][broken] is False
    finally:
        process.stop()


async def test_the_inbox_forgets_old_events_of_deleting_topics_only(services, settings: Settings, http):
    # Each service with a schema prunes its inbox once started, then every hour.
    async with http.get(f"{services['indicators'].url}/metrics") as response:
        assert 'obs_inbox_pruned_total{schema="indicators"}' in await response.text()
    conn = await connect_as(settings, "indicators")
    now = datetime.now(UTC)
    old, recent, old_state = uuid4(), uuid4(), uuid4()
    runs, datasets = inbox_consumer("indicators", "harvest.runs"), inbox_consumer("indicators", "registry.datasets")
    rows = [
        (runs, old, now - timedelta(days=30)),
        (runs, recent, now - timedelta(days=1)),
        (datasets, old_state, now - timedelta(days=30)),  # a compacted topic's
    ]
    try:
        insert = "INSERT INTO indicators.inbox (consumer, event_id, handled_at) VALUES ($1, $2, $3)"
        await conn.executemany(insert, rows)
        pruned = await prune_inbox(conn, "indicators", prunable_consumers("indicators"), now - timedelta(days=14))
        left = {r["event_id"] for r in await conn.fetch("SELECT event_id FROM indicators.inbox")}
    finally:
        await conn.close()
    assert pruned == 1
    assert old not in left and {recent, old_state} <= left
