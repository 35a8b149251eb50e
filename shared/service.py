"""The runtime every service shares: an aiohttp server with /healthz, /readyz and /metrics, the
database pool and migrations, the Kafka broker and the outbox relay, started and stopped in order.

A service's `app.py` builds a `Runtime`, registers its subscribers and routes, and calls `build_app`.
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from aiohttp import web
from faststream.kafka import KafkaBroker
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from shared import metrics
from shared.db import apply_migrations, create_pool, database_answers
from shared.deadletter import DeadLetterPolicy
from shared.kafka import consumer_lags, create_broker
from shared.logs import configure_logging
from shared.messaging import DocumentMemory, DocumentReader, OutboxRelay, prunable_consumers, prune_inbox
from shared.settings import Settings

log = logging.getLogger(__name__)

Hook = Callable[["Runtime"], Awaitable[None]]
T = TypeVar("T")


@dataclass
class Runtime:
    """What a running service holds. `pool` exists once the service has started."""

    settings: Settings
    service: str
    schema: str | None = None  # the schema the service owns (None for the api)
    migrations: Path | None = None
    stateless_sessions: bool = False  # its pool's sessions keep no state (shared.db.rollback_only)
    pool_size: int | None = None  # its pool's most connections (None: settings.db_pool_max_size)
    session_settings: dict[str, str] | None = None  # PostgreSQL settings of its pool's sessions
    outbox_documents: DocumentReader | None = None  # where its outbox events' documents are stored
    outbox_memory: DocumentMemory | None = field(init=False, default=None)  # those its relay has yet to publish
    broker: KafkaBroker = field(init=False)
    dead_letters: DeadLetterPolicy = field(init=False)
    _pool: asyncpg.Pool | None = None
    broker_started: bool = False
    on_start: list[Hook] = field(default_factory=list)
    on_stop: list[Hook] = field(default_factory=list)
    background: dict[str, Any] = field(default_factory=dict)  # what on_start hooks keep for on_stop
    tasks: list["asyncio.Task[Any]"] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.dead_letters = DeadLetterPolicy(
            self.settings.max_attempts, self.settings.retry_backoff_seconds, database=self.database_answers
        )
        self.broker = create_broker(self.settings, self.service, self.dead_letters)
        if self.outbox_documents is not None:
            self.outbox_memory = DocumentMemory()

    def spawn(self, coroutine: Any) -> None:
        """Run `coroutine` in the background until the service stops."""
        self.tasks.append(asyncio.create_task(coroutine))

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError(f"{self.service}: database pool used before start")
        return self._pool

    async def database_answers(self) -> bool:
        """Whether its PostgreSQL answers now (False before the service has started)."""
        return self._pool is not None and await database_answers(self._pool)

    async def ready(self) -> dict[str, bool]:
        kafka = self.broker_started and await self.broker.ping(timeout=2)
        return {"kafka": bool(kafka), "postgresql": await self.database_answers()}


def build_app(
    runtime: Runtime, routes: web.RouteTableDef | None = None, middlewares: tuple[Any, ...] = ()
) -> web.Application:
    app = web.Application(middlewares=[_metrics_middleware(runtime.service), *middlewares], client_max_size=1024**2)
    app["runtime"] = runtime
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)
    if routes is not None:
        app.router.add_routes(routes)
    app.cleanup_ctx.append(_lifecycle)
    return app


def run(runtime: Runtime, routes: web.RouteTableDef | None = None, middlewares: tuple[Any, ...] = ()) -> None:
    """Entry point of `python -m services.<name>`."""
    configure_logging(runtime.service, runtime.settings.log_level)
    port = runtime.settings.port_of(runtime.service)
    log.info("starting", extra={"port": port})
    web.run_app(
        build_app(runtime, routes, middlewares), host=runtime.settings.http_host, port=port, print=None, access_log=None
    )


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    runtime: Runtime = app["runtime"]
    relay: list[OutboxRelay] = []
    # Dependencies may come up after the service: it serves /healthz at once and keeps trying to
    # connect in the background; /readyz says what is missing meanwhile.
    starter = asyncio.create_task(_start_logged(runtime, relay), name="start-dependencies")
    yield
    starter.cancel()
    await asyncio.gather(starter, return_exceptions=True)
    for task in runtime.tasks:
        task.cancel()
    await asyncio.gather(*runtime.tasks, return_exceptions=True)
    for hook in runtime.on_stop:
        await hook(runtime)
    for r in relay:
        await r.stop()
    if runtime.broker_started:
        await runtime.broker.stop()
    if runtime._pool is not None:
        await runtime._pool.close()


async def _start_logged(runtime: Runtime, relay: list[OutboxRelay]) -> None:
    """A start that fails for good (a broken migration) must say so: /readyz stays 503 and the log tells why."""
    try:
        await _start_dependencies(runtime, relay)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("start failed; the service stays unready")


async def _start_dependencies(runtime: Runtime, relay: list[OutboxRelay]) -> None:
    pool = await _retry_forever(
        lambda: create_pool(
            runtime.settings,
            runtime.service,
            max_size=runtime.pool_size,
            server_settings=runtime.session_settings,
            stateless_sessions=runtime.stateless_sessions,
        ),
        "postgresql",
    )
    if runtime.schema and runtime.migrations:
        await apply_migrations(pool, runtime.schema, runtime.migrations)
    runtime._pool = pool
    await _retry_forever(runtime.broker.start, "kafka")
    runtime.broker_started = True
    if runtime.schema:
        relay.append(
            OutboxRelay(
                pool,
                runtime.settings,
                runtime.schema,
                documents=runtime.outbox_documents,
                memory=runtime.outbox_memory,
            )
        )
        await relay[0].start()
    for hook in runtime.on_start:
        await hook(runtime)
    if runtime.broker.subscribers:
        runtime.spawn(_report_lag(runtime))
    if runtime.schema:
        runtime.spawn(_prune_inbox(runtime, runtime.schema))
    log.info("ready")


LAG_INTERVAL_SECONDS = 15.0


def _subscriptions(runtime: Runtime) -> list[tuple[Any, str, str]]:
    """(subscriber, group, topic) for every topic the service consumes in a group."""
    subscribers: list[Any] = list(runtime.broker.subscribers)  # Kafka subscribers: group_id, topic_names, consumer
    return [(s, s.group_id, topic) for s in subscribers if s.group_id for topic in s.topic_names]


async def _report_lag(runtime: Runtime) -> None:
    """Keep obs_consumer_lag current for every group the service consumes with."""
    pairs = [(group, topic) for _, group, topic in _subscriptions(runtime)]
    while True:
        try:
            for (group, topic), lag in (await consumer_lags(runtime.settings, pairs)).items():
                metrics.CONSUMER_LAG.labels(group=group, topic=topic).set(lag)
        except Exception:  # a broker away for a while: the gauge keeps its last value, the log says why
            log.warning("consumer lag unavailable", exc_info=True)
        await asyncio.sleep(LAG_INTERVAL_SECONDS)


INBOX_PRUNE_INTERVAL_SECONDS = 3600.0


async def _prune_inbox(runtime: Runtime, schema: str) -> None:
    """Every hour, forget the handled events older than the retention (without it the inbox grew by
    one row per event for ever: a full harvest of 200,000 datasets a day is 73 million rows a year)."""
    consumers = prunable_consumers(runtime.service)
    while True:
        try:
            handled_before = datetime.now(UTC) - timedelta(days=runtime.settings.inbox_retention_days)
            async with runtime.pool.acquire() as conn:
                pruned = await prune_inbox(conn, schema, consumers, handled_before)
            metrics.INBOX_PRUNED.labels(schema=schema).inc(pruned)
        except Exception:  # PostgreSQL away for a while: the next round catches up
            log.warning("inbox pruning failed", exc_info=True)
        await asyncio.sleep(INBOX_PRUNE_INTERVAL_SECONDS)


async def _retry_forever(start: Callable[[], Awaitable[T]], what: str) -> T:
    delay = 0.5
    while True:
        try:
            return await start()
        except Exception as exc:
            log.warning(f"{what} not available yet", extra={"error": repr(exc), "retry_in": delay})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _readyz(request: web.Request) -> web.Response:
    runtime: Runtime = request.app["runtime"]
    checks = await runtime.ready()
    ready = all(checks.values())
    metrics.READY.labels(service=runtime.service).set(1 if ready else 0)
    return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)


def _count_assigned_partitions(runtime: Runtime) -> None:
    """The partitions each subscriber's consumer holds now (none before it started or between two
    assignments of a rebalance)."""
    for subscriber, group, topic in _subscriptions(runtime):
        consumer: Any = getattr(subscriber, "consumer", None)
        assigned = consumer.assignment() if consumer is not None else set()
        held = sum(1 for partition in assigned if partition.topic == topic)
        metrics.CONSUMER_PARTITIONS.labels(group=group, topic=topic).set(held)


async def _metrics(request: web.Request) -> web.Response:
    runtime: Runtime = request.app["runtime"]
    if runtime._pool is not None:
        metrics.DB_POOL_SIZE.labels(service=runtime.service, state="in_use").set(
            runtime._pool.get_size() - runtime._pool.get_idle_size()
        )
        metrics.DB_POOL_SIZE.labels(service=runtime.service, state="idle").set(runtime._pool.get_idle_size())
    _count_assigned_partitions(runtime)
    body = generate_latest(REGISTRY)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _metrics_middleware(service: str) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[..., Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            resource = request.match_info.route.resource
            route = resource.canonical if resource is not None else "unmatched"
            metrics.HTTP_REQUEST_SECONDS.labels(service, route, request.method, str(status)).observe(
                time.perf_counter() - started
            )

    return middleware
