"""The catalogue of the real portals of France on a machine that reaches none of them: its first
sources (one per family) run through the real harvest code, the real database and the real broker,
with a resolver of the test's own that answers nothing, so that no test ever resolves or contacts a
real host. Each run fails with its reason in French, the source is tried less often after each
failure, and the operations report shows it all. Then a source registered without its family is
detected by probing it, through the harvester's API."""

import json
import socket
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import aiohttp.abc
import pytest

from services.harvester import repository
from services.harvester.__main__ import read_sources_file
from services.harvester.fetch import Fetcher, FetchPolicy
from services.harvester.runs import execute_run
from shared.db import create_pool
from shared.messaging import BulkPublisher
from shared.settings import Settings
from simulated_portals.app import source_url
from tests.support.harvest import run
from tests.support.kafka import read_all

pytestmark = pytest.mark.integration
CATALOGUE = Path(__file__).resolve().parents[2] / "infra/sources/france.yaml"


class NoAnswer(aiohttp.abc.AbstractResolver):
    """A resolver that knows no name, as on a machine without a network."""

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list:
        raise OSError(f"no answer for {host}")

    async def close(self) -> None:
        return None


async def test_offline_every_source_fails_with_its_reason_and_is_tried_less_often(
    services, settings: Settings, http, operator
):
    sources, _ = read_sources_file(CATALOGUE)
    first: dict[str, repository.Source] = {}
    for entry in sources:
        first.setdefault(str(entry.family), entry.to_source())
    pool = await create_pool(settings, "harvester", max_size=2)
    publisher = BulkPublisher(settings, "test-offline")
    await publisher.start()
    tomorrow = datetime.now(UTC) + timedelta(days=1)  # never due while the test runs: the service leaves them
    async with pool.acquire() as conn:
        for source in first.values():
            await repository.add_source(conn, source, tomorrow)
    policy = FetchPolicy(allow_private=False, max_attempts=2, backoff_seconds=0.01)
    runs: list[str] = []
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=NoAnswer())) as session:
            fetcher = Fetcher(session, policy, resolver=NoAnswer())
            for _ in range(2):
                for source in first.values():
                    run_id = str(uuid.uuid4())
                    async with pool.acquire() as conn, conn.transaction():  # never seen queued by the service
                        await repository.queue_run(conn, run_id, source.id, "full", "test")
                        await conn.execute("UPDATE harvest.runs SET status = 'running' WHERE run_id = $1", run_id)
                    finished = await execute_run(
                        pool, publisher.publish, fetcher, repository.QueuedRun(run_id, source, "full", None)
                    )
                    assert (finished.status, finished.complete, finished.items_seen) == ("failed", False, 0)
                    runs.append(run_id)
        async with pool.acquire() as conn:
            rows = await conn.fetch(
                """SELECT s.id, s.next_run_at, r.message FROM harvest.sources s
                   JOIN harvest.runs r ON r.source_id = s.id WHERE r.run_id = ANY($1::text[])""",
                runs,
            )
    finally:
        await publisher.stop()
        await pool.close()
    hosts = {s.id: s.url.split("/")[2] for s in first.values()}
    assert {r["message"] for r in rows} == {f"nom d'hôte introuvable : {hosts[r['id']]}" for r in rows}
    for row in rows:  # two failures in a row: a daily source waits two days
        assert timedelta(days=1, hours=23) < row["next_run_at"] - datetime.now(UTC) <= timedelta(days=2)

    status = f"{services['api'].url}/api/v1/operations/status"
    async with http.get(status, headers=operator) as response:
        report = {s["id"]: s for s in (await response.json())["sources"]}
    async with http.get(status) as response:
        public = {s["id"]: s for s in (await response.json())["sources"]}
    for source_id, host in hosts.items():
        assert report[source_id]["status"] == public[source_id]["status"] == "failed"
        assert report[source_id]["message"] == f"nom d'hôte introuvable : {host}"
        assert public[source_id]["message"] is None  # raw messages for operators only
        assert report[source_id]["next_run_at"]
    finished_events = [json.loads(r.value) for r in await read_all(settings, "harvest.runs", idle_ms=800)]
    statuses = {e["run_id"]: e["status"] for e in finished_events if e.get("event_type") == "HarvestRunFinished"}
    assert {statuses[r] for r in runs} == {"failed"}


async def test_a_source_added_without_its_family_is_detected(services, portal, world, http, operator):
    from tests.support.quirky import QUIRKY_PORTALS

    spec = next(p for p in QUIRKY_PORTALS if p.slug == "undeclared")
    body = {"id": "t-detected", "url": f"{portal}{spec.path}", "name": "Portail sans famille", "schedule": "@manual"}
    async with http.post(f"{services['harvester'].url}/api/v1/sources", json=body, headers=operator) as response:
        assert response.status == 201, await response.text()
        created = await response.json()
    assert (created["family"], created["url"]) == ("ods", source_url(world, portal, "ods", spec.slug))
    assert "OpenDataSoft" in created["detected"]
    result = await run(http, services["harvester"].url, operator, "t-detected")
    assert (result["status"], result["items_seen"]) == ("done", spec.size)

    nothing = {"id": "t-undetected", "url": f"{portal}/nulle-part", "name": "Pas un portail"}
    async with http.post(f"{services['harvester'].url}/api/v1/sources", json=nothing, headers=operator) as response:
        assert response.status == 422
        assert "famille introuvable" in (await response.json())["error"]["message"]
