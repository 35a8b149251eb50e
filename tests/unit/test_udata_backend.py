"""The udata backend against the simulated udata portal, over real HTTP on loopback (no Kafka)."""

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from services.harvester.backends.base import HarvestAborted, RunContext
from services.harvester.backends.udata import UdataBackend
from services.harvester.fetch import Fetcher, FetchError, FetchPolicy
from services.harvester.repository import Source
from shared.identifiers import siren_from
from simulated_portals.app import build_app
from simulated_portals.catalogue import generate, siret_for

POLICY = FetchPolicy(allow_private=True, backoff_seconds=0.01, max_attempts=3)


async def collect(app: web.Application) -> list:
    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        source = Source(id="s", url=str(server.make_url("/udata")), family="udata", name="test")
        backend = UdataBackend(Fetcher(session, POLICY), source, RunContext(run_id="r", mode="full"))
        return [item async for item in backend.items()]


async def test_every_dataset_is_mapped_across_pages_with_its_publisher_siren():
    catalogue = generate(
        seed=1, organizations=[("Ville de Rennes", siret_for("21350238")), ("Sans SIRET", None)], datasets_per_org=130
    )
    items = await collect(build_app(catalogue))
    assert [i.remote_id for i in items] == [d.id for d in catalogue.datasets]  # 260 datasets, 3 pages of 100
    assert all(i.error is None for i in items)
    first = items[0].event
    source = catalogue.datasets[0]
    assert first.title == source.title
    assert first.publisher.siren == siren_from(source.organization.siret)
    assert first.created == source.created_at and first.modified == source.last_modified
    assert {i.event.publisher.siren for i in items[130:]} == {None}
    assert len({i.event.content_hash for i in items}) == len(items)


async def test_the_content_hash_does_not_depend_on_the_run():
    catalogue = generate(seed=2, organizations=[("Ville", siret_for("21350238"))], datasets_per_org=3)
    async with TestServer(build_app(catalogue)) as server, aiohttp.ClientSession() as session:
        source = Source(id="s", url=str(server.make_url("/udata")), family="udata", name="test")
        hashes = []
        for run_id in ("run-1", "run-2"):
            backend = UdataBackend(Fetcher(session, POLICY), source, RunContext(run_id=run_id, mode="full"))
            hashes.append([item.event.content_hash async for item in backend.items()])
    assert hashes[0] == hashes[1]
    assert len(set(hashes[0])) == 3


def quirky_app(handler) -> web.Application:
    app = web.Application()
    app.router.add_get("/udata/api/1/datasets/", handler)
    return app


async def test_a_page_that_repeats_forever_aborts_the_run():
    async def endless(request: web.Request) -> web.Response:
        page = int(request.query.get("page", 1))
        return web.json_response(
            {
                "data": [{"id": "same", "title": "t", "resources": []}],
                "page": page,
                "next_page": str(request.url.update_query(page=page + 1)),
            }
        )

    with pytest.raises(HarvestAborted, match="repeats"):
        await collect(quirky_app(endless))


async def test_an_html_error_page_is_a_clear_failure():
    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<html><body>Maintenance</body></html>", content_type="text/html")

    with pytest.raises(HarvestAborted, match="not JSON"):
        await collect(quirky_app(html))


async def test_rate_limits_are_retried_after_the_delay_the_portal_asks():
    calls = []

    async def limited(request: web.Request) -> web.Response:
        calls.append(request)
        if len(calls) == 1:
            return web.json_response({"message": "Too many requests"}, status=429, headers={"Retry-After": "0"})
        return web.json_response({"data": [], "next_page": None})

    assert await collect(quirky_app(limited)) == []
    assert len(calls) == 2


async def test_private_addresses_are_refused_unless_allowed():
    async with aiohttp.ClientSession() as session:
        fetcher = Fetcher(session, FetchPolicy(allow_private=False))
        with pytest.raises(FetchError, match="private address"):
            await fetcher.get_json("http://127.0.0.1:1/api/1/datasets/")
