"""Wiring of the harvester: consumes harvest.commands, publishes harvest.datasets and harvest.runs,
serves the sources list."""

from pathlib import Path
from typing import Any

from aiohttp import web

from services.harvester import repository
from services.harvester.fetch import FetchPolicy
from services.harvester.handlers import run_harvest
from shared import topics
from shared.events import DatasetDiscovered, Event, HarvestRequested, HarvestRunFinished, HarvestRunStarted
from shared.kafka import declare_publisher, subscriber_options
from shared.messaging import publish_event
from shared.service import Runtime
from shared.settings import Settings

SERVICE = "harvester"
MIGRATIONS = Path(__file__).parent / "migrations"


def create_runtime(settings: Settings) -> Runtime:
    runtime = Runtime(settings, SERVICE, schema="harvest", migrations=MIGRATIONS)
    broker = runtime.broker
    fetch_policy = FetchPolicy(allow_private=settings.allow_private_sources)

    async def publish(event: Event, confirm: bool) -> Any:
        return await publish_event(broker, settings, event, confirm=confirm)

    @broker.subscriber(
        settings.topic(topics.HARVEST_COMMANDS),
        **subscriber_options(settings, SERVICE, topics.HARVEST_COMMANDS),
        description="Harvest requests, one per source: run the source's harvest now.",
    )
    async def on_harvest_requested(command: HarvestRequested) -> None:
        await run_harvest(runtime.pool, publish, fetch_policy, command)

    # Declared for the AsyncAPI document: what the harvester publishes.
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
        topics.HARVEST_RUNS,
        schema=HarvestRunStarted | HarvestRunFinished,
        description="Start and end of each harvest run, keyed by source_id.",
    )
    return runtime


def create_routes() -> web.RouteTableDef:
    routes = web.RouteTableDef()

    @routes.get("/api/v1/sources")
    async def list_sources(request: web.Request) -> web.Response:
        runtime: Runtime = request.app["runtime"]
        async with runtime.pool.acquire() as conn:
            sources = await repository.list_sources(conn)
        return web.json_response({"data": [s.__dict__ for s in sources], "total": len(sources)})

    return routes
