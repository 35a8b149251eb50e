"""Simulated worlds served over HTTP, each on its own port beside the simulator's: 0 the session's
world (tests/conftest.py), 1 the mirrors of test_consolidation, 2 test_source_lifecycle, 3
test_platforms, 4 test_reuses. The simulated data.gouv.fr counts as national at offsets 0 and 1."""

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from shared.settings import Settings
from simulated_portals.app import build_app
from simulated_portals.catalogue import World


@contextlib.asynccontextmanager
async def serving(world: World, settings: Settings, offset: int = 0) -> AsyncIterator[str]:
    """The world's portals on the simulator port + `offset`; yields their base URL."""
    runner = web.AppRunner(build_app(world))
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.http_host, settings.simulator_port + offset).start()
        yield f"http://{settings.http_host}:{settings.simulator_port + offset}"
    finally:
        await runner.cleanup()
