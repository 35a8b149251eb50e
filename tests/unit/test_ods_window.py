"""OpenDataSoft's window: the portals refuse `offset + limit > 10000` ("Invalid value for sum of offset
+ limit API parameter: 10001 was found but <= 10000 is expected."). Catalogues around that size, read
whole through the simulated portal over HTTP on loopback: by pages up to 10,000, by the export above."""

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from services.harvester.backends import backend_for
from services.harvester.backends.base import RunContext
from services.harvester.fetch import Fetcher, FetchPolicy
from services.harvester.repository import Source
from simulated_portals.app import build_app, source_url
from simulated_portals.catalogue import PortalSpec, Publisher, World

POLICY = FetchPolicy(allow_private=True, max_attempts=1, backoff_seconds=0.01)


@pytest.mark.parametrize("size", [9_901, 9_950, 10_000, 10_001])
async def test_catalogues_at_the_edge_of_the_window_are_read_whole(size):
    portal = PortalSpec(family="ods", slug=f"edge-{size}", size=size, seed=7,
                        publishers=(Publisher("Ville de Vanves", None, "0" * 24),))  # fmt: skip
    world = World([portal])
    app = build_app(world)
    requested: list[str] = []

    async def record(request, _response) -> None:
        requested.append(request.path_qs)

    app.on_response_prepare.append(record)
    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        url = source_url(world, str(server.make_url("")).rstrip("/"), "ods", portal.slug)
        source = Source(id=portal.slug, url=url, family="ods", name=portal.slug)
        backend = backend_for("ods")(Fetcher(session, POLICY), source, RunContext(run_id="r", mode="full"))
        ids = [item.remote_id async for item in backend.items() if item.dataset is not None]
    assert len(ids) == len(set(ids)) == size
    exported = any("/catalog/exports/json" in path for path in requested)
    assert exported == (size > 10_000)
