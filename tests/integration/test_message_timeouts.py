"""A message whose statement outlasts its timeout, handled by a single-message subscriber (the
dead-letter middleware every service's broker has), on the real broker and PostgreSQL. While
PostgreSQL does not answer, the timeout is an outage and the message is read again; once PostgreSQL
answers, the message is what is slow: it is dead-lettered after its attempts and its partition moves
on, where it used to be read again for ever."""

import asyncio
import json
import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.db import database_answers
from shared.deadletter import DeadLetterPolicy
from shared.kafka import create_broker, subscriber_options
from shared.settings import Settings
from shared.topics import dlq
from tests.support.kafka import produce_many, read_all, wait_for

pytestmark = pytest.mark.integration

SERVICE = "timeouts-test"


@pytest.fixture
async def topic(infrastructure: Settings) -> AsyncIterator[str]:
    """A topic of the test's own and its dead-letter topic (no service consumes them)."""
    name = f"timeouts-{secrets.token_hex(3)}"
    admin = AIOKafkaAdminClient(bootstrap_servers=infrastructure.kafka_bootstrap_servers)
    await admin.start()
    full = infrastructure.topic(name)
    try:
        await admin.create_topics([NewTopic(full, 1, 1), NewTopic(dlq(full), 1, 1)])
        yield name
        await admin.delete_topics([full, dlq(full)])
    finally:
        await admin.close()


async def test_a_message_whose_statement_outlasts_its_timeout_is_read_again_during_an_outage_then_dead_lettered(
    infrastructure: Settings, topic: str
) -> None:
    settings = infrastructure
    pool = await asyncpg.create_pool(
        host=settings.db_host, port=settings.db_port, database=settings.db_name, user=settings.db_admin_user,
        password=settings.db_admin_password, min_size=1, max_size=2,
    )  # fmt: skip
    outage = True  # the probe says PostgreSQL does not answer until the test says it does

    async def database() -> bool:
        return not outage and await database_answers(pool)

    broker = create_broker(settings, SERVICE, DeadLetterPolicy(2, backoff_seconds=0, database=database))
    handled: list[int] = []
    slow_attempts = 0

    async def on_message(body: dict[str, int]) -> None:
        nonlocal slow_attempts
        if body["slow"]:
            slow_attempts += 1
            await pool.execute("SELECT pg_sleep(5)", timeout=0.2)  # asyncpg cancels it: TimeoutError
        handled.append(body["n"])

    broker.subscriber(settings.topic(topic), **subscriber_options(settings, SERVICE, topic))(on_message)

    messages = [(b"one-key", json.dumps({"n": n, "slow": int(n == 1)}).encode()) for n in range(3)]
    await produce_many(settings, topic, messages)
    try:
        await broker.start()
        # During the outage the slow message is read again, more times than its attempts, and holds
        # its partition: the message after it waits.
        await wait_for(lambda: _true(slow_attempts > 2 * 2), timeout=60)
        assert handled == [0]
        assert await read_all(settings, dlq(topic), idle_ms=500) == []

        outage = False
        await wait_for(lambda: _true(handled == [0, 2]), timeout=60)
        letters = await read_all(settings, dlq(topic), idle_ms=500)
        assert [json.loads(r.value)["n"] for r in letters] == [1]
        headers = dict(letters[0].headers)
        assert headers["x-error-type"] == b"TimeoutError" and headers["x-attempts"] == b"2"
    finally:
        await broker.stop()
        await pool.close()


async def _true(value: bool) -> bool | None:
    await asyncio.sleep(0)
    return value or None
