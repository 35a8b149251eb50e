"""Wiring of the harvester: consumes harvest.commands, runs harvests, publishes harvest.datasets and
harvest.runs, schedules sources, serves the sources and runs API (operators write with a token)."""

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, Field, field_validator

from services.harvester import handlers, lifecycle, repository, runs, schedules
from services.harvester.backends import BACKENDS
from services.harvester.detection import Detection, detect
from services.harvester.fetch import Fetcher, FetchError, FetchPolicy, check_address, harvest_session
from shared import topics
from shared.auth import Principal, authenticate, optional_principal
from shared.events import (
    AudienceMeasured,
    ContributionEventUnion,
    DatasetDiscovered,
    Event,
    HarvestRequested,
    HarvestRunFinished,
    HarvestRunStarted,
    ReuseDiscovered,
    SerialisedEvent,
)
from shared.http import error, http_error, read_body
from shared.kafka import declare_publisher, subscriber_options
from shared.matching import normalise
from shared.messaging import BulkPublisher, add_to_outbox, handle_once, inbox_consumer
from shared.service import Runtime
from shared.settings import Settings

SERVICE = "harvester"
SCHEMA = "harvest"
MIGRATIONS = Path(__file__).parent / "migrations"


async def detect_family(settings: Settings, url: str) -> Detection:
    """Probe `url` for its family, each probe once and quickly (an operator is waiting)."""
    policy = replace(FetchPolicy.from_settings(settings), max_attempts=1, timeout_seconds=15)
    async with harvest_session(policy) as session:
        return await detect(Fetcher(session, policy), url)


def create_runtime(settings: Settings) -> Runtime:
    runtime = Runtime(settings, SERVICE, schema=SCHEMA, migrations=MIGRATIONS)
    broker = runtime.broker
    policy = FetchPolicy.from_settings(settings)

    publisher = BulkPublisher(settings, "observatoire-harvester-runs")

    async def publish(event: Event | SerialisedEvent, confirm: bool) -> Any:
        return await publisher.publish(event, confirm)

    @broker.subscriber(
        settings.topic(topics.HARVEST_COMMANDS),
        **subscriber_options(settings, SERVICE, topics.HARVEST_COMMANDS),
        description="Harvest requests, one per source: queue a run of that source.",
    )
    async def on_harvest_requested(command: HarvestRequested) -> None:
        consumer = inbox_consumer(SERVICE, topics.HARVEST_COMMANDS)
        await handle_once(runtime.pool, SCHEMA, settings, consumer, command, handlers.queue_requested)
        if executor := runtime.background.get("executor"):
            executor.wake()  # the run is committed: start it now rather than at the next poll

    @broker.subscriber(
        settings.topic(topics.CONTRIBUTIONS_EVENTS),
        **subscriber_options(settings, SERVICE, topics.CONTRIBUTIONS_EVENTS),
        description="Accepted contributions of a portal: the portal becomes a harvest source.",
    )
    async def on_contribution(event: ContributionEventUnion) -> None:
        portal = handlers.accepted_portal(event)
        detected = None
        if portal and portal.get("technology") == "auto":  # probed before the transaction, not inside it
            detected = await detect_family(settings, str(portal["url"]))
        handler = partial(handlers.contribution_accepted, policy=policy, detected=detected)
        consumer = inbox_consumer(SERVICE, topics.CONTRIBUTIONS_EVENTS)
        await handle_once(runtime.pool, SCHEMA, settings, consumer, event, handler)

    async def start_background(rt: Runtime) -> None:
        await publisher.start()
        executor = runs.RunExecutor(rt.pool, publish, policy, max_concurrent=settings.harvest_concurrency)
        await executor.start()
        rt.background["executor"] = executor
        rt.spawn(
            handlers.scheduler_loop(
                rt.pool,
                write_outbox,
                settings.schedule_check_seconds,
                timedelta(seconds=settings.withdrawal_grace_seconds),
            )
        )

    async def write_outbox(conn: Any, events: list[Event]) -> None:
        await add_to_outbox(conn, SCHEMA, settings, events)

    async def stop_background(rt: Runtime) -> None:
        if executor := rt.background.get("executor"):
            await executor.stop()
        await publisher.stop()

    runtime.on_start.append(start_background)
    runtime.on_stop.append(stop_background)

    declare_publisher(
        broker,
        settings,
        SERVICE,
        topics.HARVEST_DATASETS,
        schema=DatasetDiscovered,
        description="One event per dataset found on a portal, keyed source_id:remote_id.",
    )
    declare_publisher(
        broker,
        settings,
        SERVICE,
        topics.HARVEST_REUSES,
        schema=ReuseDiscovered,
        description="One event per reuse a portal lists, with its datasets' ids there, keyed source_id:remote_id.",
    )
    declare_publisher(
        broker,
        settings,
        SERVICE,
        topics.HARVEST_AUDIENCE,
        schema=AudienceMeasured,
        description="What portals count of their datasets at each run (views, downloads...), in chunks of records.",
    )
    declare_publisher(
        broker,
        settings,
        SERVICE,
        topics.HARVEST_RUNS,
        schema=HarvestRunStarted | HarvestRunFinished,
        description="Start and end of each harvest run, keyed by source_id.",
    )
    declare_publisher(
        broker,
        settings,
        "harvester-scheduler",
        topics.HARVEST_COMMANDS,
        schema=HarvestRequested,
        description="Runs asked by the scheduler and by operators, keyed by source_id.",
    )
    return runtime


class SourceIn(BaseModel):
    id: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://")
    family: str | None = None  # None: detected from the address (services/harvester/detection.py)
    name: str = Field(min_length=1, max_length=300)
    owner: str | None = Field(default=None, max_length=40)
    schedule: str = "@daily"
    departement: str | None = Field(default=None, pattern=r"^(\d{2,3}|2[AB])$")
    data_requests_url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://")

    def to_source(self) -> repository.Source:
        assert self.family is not None, "the family is detected before the source is made"
        return repository.Source(
            id=self.id or slug(self.name),
            url=self.url,
            family=self.family,
            name=self.name,
            owner_organization=self.owner,
            schedule=self.schedule,
            departement=self.departement,
            data_requests_url=self.data_requests_url,
        )

    @field_validator("family")
    @classmethod
    def known_family(cls, value: str | None) -> str | None:
        if value is not None and value not in BACKENDS:
            raise ValueError(f"famille inconnue ; familles : {', '.join(sorted(BACKENDS))}")
        return value

    @field_validator("schedule")
    @classmethod
    def valid_schedule(cls, value: str) -> str:
        schedules.interval(value)
        return value


class MoveIn(BaseModel):
    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://")


class RunIn(BaseModel):
    source_id: str = Field(min_length=1, max_length=64)
    mode: str = Field(default="full", pattern=r"^(full|incremental)$")


Body = TypeVar("Body", bound=BaseModel)


def public_run(run: dict[str, Any], operator: bool) -> dict[str, Any]:
    """A run as the public sees it: no operator's name, no raw message (which may quote what a portal
    or a service answered); an operator's token shows both."""
    return run if operator else {**run, "requested_by": None, "message": None}


async def operator_body(request: web.Request, model: type[Body]) -> tuple[Principal, Body]:
    """The operator's token checked, then the request's body read as `model`: a stranger learns
    nothing of what a body should be."""
    runtime: Runtime = request.app["runtime"]
    async with runtime.pool.acquire() as conn:
        principal = await authenticate(conn, request, "operator")
    return principal, await read_body(request, model)


async def checked_address(settings: Settings, url: str) -> None:
    """An address the harvester may fetch (no private network unless allowed), else a 422 saying why."""
    try:
        await check_address(url, settings.allow_private_sources)
    except FetchError as exc:
        raise http_error(web.HTTPUnprocessableEntity, f"adresse refusée : {exc.reason}") from exc


def create_routes() -> web.RouteTableDef:
    routes = web.RouteTableDef()

    @routes.get("/api/v1/sources")
    async def list_sources(request: web.Request) -> web.Response:
        runtime: Runtime = request.app["runtime"]
        async with runtime.pool.acquire() as conn:
            sources = await repository.list_sources(conn)
        return web.json_response({"data": sources, "total": len(sources)})

    @routes.post("/api/v1/sources")
    async def add_source(request: web.Request) -> web.Response:
        runtime: Runtime = request.app["runtime"]
        principal, body = await operator_body(request, SourceIn)
        await checked_address(runtime.settings, body.url)
        detected = None
        if body.family is None:  # probed outside any transaction: it may take a few seconds
            detected = await detect_family(runtime.settings, body.url)
            if detected.family is None or detected.url is None:
                return error(422, f"famille introuvable : {detected.evidence} ; essayé : {' ; '.join(detected.tried)}")
            body = body.model_copy(update={"family": detected.family, "url": detected.url})
        source = body.to_source()
        async with runtime.pool.acquire() as conn:
            existing = await repository.source_with_url(conn, source.url)
            if existing and existing != source.id:
                return error(409, f"la source {existing} a déjà cette adresse")
            await repository.add_source(conn, source, schedules.next_run(source.schedule, datetime.now(UTC)))
        answer = {"id": source.id, "created_by": principal.name, "family": source.family, "url": source.url}
        if detected:
            answer["detected"] = detected.evidence
        return web.json_response(answer, status=201)

    async def changed_source(
        request: web.Request, change: Callable[[Any, repository.Source, str], Awaitable[None]]
    ) -> web.Response:
        """An operator's change of one source (services/harvester/lifecycle.py), made and audited in one
        transaction; the source as it is then."""
        runtime: Runtime = request.app["runtime"]
        async with runtime.pool.acquire() as conn:
            principal = await authenticate(conn, request, "operator")
            source = await repository.get_source(conn, request.match_info["source_id"])
            if source is None:
                return error(404, f"source inconnue : {request.match_info['source_id']}")
            try:
                async with conn.transaction():
                    await change(conn, source, principal.name)
            except lifecycle.Refused as exc:
                return error(409, str(exc))
            current = await repository.get_source(conn, source.id)
        assert current is not None
        removed_at = current.removed_at.isoformat() if current.removed_at else None
        return web.json_response(
            {"id": current.id, "url": current.url, "enabled": current.enabled, "removed_at": removed_at}
        )

    @routes.post("/api/v1/sources/{source_id}/{action:pause|resume}")
    async def pause_or_resume_source(request: web.Request) -> web.Response:
        action = lifecycle.pause if request.match_info["action"] == "pause" else lifecycle.resume
        return await changed_source(request, partial_now(action))

    @routes.delete("/api/v1/sources/{source_id}")
    async def remove_source(request: web.Request) -> web.Response:
        return await changed_source(request, partial_now(lifecycle.remove))

    @routes.patch("/api/v1/sources/{source_id}")
    async def move_source(request: web.Request) -> web.Response:
        """A new address for the same source: its id, runs, records and history stay."""
        runtime: Runtime = request.app["runtime"]
        _, body = await operator_body(request, MoveIn)
        await checked_address(runtime.settings, body.url)
        return await changed_source(request, lambda conn, source, actor: lifecycle.move(conn, source, actor, body.url))

    @routes.get("/api/v1/sources/{source_id}/changes")
    async def source_changes(request: web.Request) -> web.Response:
        """Who paused, resumed, moved or removed the source, and when."""
        runtime: Runtime = request.app["runtime"]
        async with runtime.pool.acquire() as conn:
            changes = await repository.source_changes(conn, request.match_info["source_id"])
        return web.json_response({"data": changes, "total": len(changes)})

    @routes.get("/api/v1/harvest/runs")
    async def list_runs(request: web.Request) -> web.Response:
        """The latest runs; who asked for them and their raw messages for operators only."""
        runtime: Runtime = request.app["runtime"]
        async with runtime.pool.acquire() as conn:
            operator = await optional_principal(conn, request, "operator") is not None
            runs = await repository.list_runs(conn, request.query.get("source_id"), 200)
        return web.json_response({"data": [public_run(r, operator) for r in runs], "total": len(runs)})

    @routes.get("/api/v1/harvest/runs/{run_id}")
    async def show_run(request: web.Request) -> web.Response:
        runtime: Runtime = request.app["runtime"]
        async with runtime.pool.acquire() as conn:
            operator = await optional_principal(conn, request, "operator") is not None
            run = await repository.get_run(conn, request.match_info["run_id"])
            if run is None:
                return error(404, "aucune exécution avec cet identifiant")
            item_errors = await repository.run_errors(conn, run["run_id"])
        if not operator:
            item_errors = [{**e, "reason": None} for e in item_errors]
        return web.json_response({**public_run(run, operator), "item_errors": item_errors})

    @routes.post("/api/v1/harvest/runs")
    async def request_run(request: web.Request) -> web.Response:
        runtime: Runtime = request.app["runtime"]
        principal, body = await operator_body(request, RunIn)
        async with runtime.pool.acquire() as conn:
            source = await repository.get_source(conn, body.source_id)
            if source is None:
                return error(404, f"source inconnue : {body.source_id}")
            if source.removed_at is not None:
                return error(
                    409, f"source supprimée le {source.removed_at.isoformat()} : la reprendre d'abord (resume)"
                )
            command = HarvestRequested(
                producer="harvester-api",
                source_id=body.source_id,
                mode=body.mode,
                requested_by=principal.name,
            )
            async with conn.transaction():
                await add_to_outbox(conn, SCHEMA, runtime.settings, [command])
        return web.json_response(
            {"run_id": handlers.run_id_for(command), "source_id": body.source_id, "mode": body.mode}, status=202
        )

    return routes


def partial_now(
    action: Callable[[Any, repository.Source, str, datetime], Awaitable[None]],
) -> Callable[[Any, repository.Source, str], Awaitable[None]]:
    """A lifecycle action made now."""
    return lambda conn, source, actor: action(conn, source, actor, datetime.now(UTC))


def slug(name: str) -> str:
    return "-".join(normalise(name).split())[:60] or "source"
