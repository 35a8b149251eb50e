"""Real catalogues, read whole: every case of tests/data/real/ replayed over HTTP and harvested by its
family's backend, compared with what a person reading the files expects (datasets, titles,
publishers, licences, themes, formats, resources, item errors, the run's status).

The first test drives each backend in this process, so a difference is reported case by case in
seconds; the second goes through the running services and the real broker, as an operator would,
harvesting every case twice: unchanged data must give the same content hashes."""

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from services.harvester.backends import backend_for
from services.harvester.backends.base import HarvestAborted, RunContext
from services.harvester.fetch import Fetcher, FetchPolicy
from services.harvester.repository import Source
from services.harvester.runs import run_status
from shared.settings import Settings
from tests.support.corpus import Case, differences, load_cases, replay_app
from tests.support.harvest import add_source, events_of, run

pytestmark = pytest.mark.integration
CASES = load_cases()
FAMILIES = ("udata", "ods", "ckan", "dcat", "arcgis", "csw")


@pytest.fixture(scope="module")
async def replay(settings: Settings) -> AsyncIterator[str]:
    runner = web.AppRunner(replay_app(CASES))
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://{settings.http_host}:{port}"
    await runner.cleanup()


def test_the_corpus_covers_every_family():
    assert {case.family for case in CASES} == set(FAMILIES)


async def harvest_in_process(case: Case, server: str) -> tuple[str, list[str | None], list[dict]]:
    policy = FetchPolicy(allow_private=True, max_attempts=1, backoff_seconds=0.01)
    source = Source(id=case.source_id, url=case.source_url(server), family=case.family, name=case.name)
    events, errors, aborted = [], [], None
    async with aiohttp.ClientSession() as session:
        backend = backend_for(case.family)(Fetcher(session, policy), source, RunContext(run_id="r", mode="full"))
        try:
            async for item in backend.items():
                if item.dataset is None:
                    errors.append(item.remote_id)
                else:
                    events.append(item.event.model_dump(mode="json"))
        except HarvestAborted as exc:
            aborted = str(exc)
    return run_status(len(events), len(errors), aborted), errors, events


@pytest.mark.parametrize("case", CASES, ids=[f"{c.folder.name}/{c.name}" for c in CASES])
async def test_each_real_catalogue_through_its_backend(case: Case, replay: str):
    status, errors, events = await harvest_in_process(case, replay)
    assert differences(case, replay, status, errors, events) == []
    again = await harvest_in_process(case, replay)
    assert {e["remote_id"]: e["content_hash"] for e in again[2]} == {e["remote_id"]: e["content_hash"] for e in events}


async def test_every_real_catalogue_through_the_broker_twice_with_stable_hashes(
    services, settings: Settings, replay: str, http, operator
):
    harvester = services["harvester"].url
    for case in CASES:
        await add_source(http, harvester, operator, case.source_id, case.source_url(replay), case.family)
    first = await asyncio.gather(*(run(http, harvester, operator, case.source_id) for case in CASES))
    second = await asyncio.gather(*(run(http, harvester, operator, case.source_id) for case in CASES))
    events = await events_of(settings, {r["run_id"] for r in [*first, *second]})
    report = {}
    for case, one, two in zip(CASES, first, second, strict=True):
        found = differences(
            case, replay, one["status"], [e["remote_id"] for e in one["item_errors"]], events[one["run_id"]]
        )
        hashes = [{e["remote_id"]: e["content_hash"] for e in events[r["run_id"]]} for r in (one, two)]
        if hashes[0] != hashes[1]:
            found.append("content hashes differ between two runs of unchanged data")
        if found:
            report[case.name] = found
    assert report == {}
