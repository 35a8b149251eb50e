"""Faults during a harvest of 50,000 datasets: the chain ends in the state a fault-free run ends in.

Each run has its own database and topic prefix, the simulated portals as a process, and the
harvester, consolidator, indicators and contributions services as processes; once the harvest has
settled, moderators accept a few corrections. The fault-free run with one instance of each service
is the reference. The other run has two instances of every service in their consumer groups, kills
-9 both consolidators, then both indicators instances, and restarts the broker and PostgreSQL in the
middle of the harvest (one run for both, not one each: the CI budget), then waits for the chain to
settle and compares: every canonical dataset and organisation (none lost, none doubled), every
indicator value, and the latest event of every key of the compacted topics.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from shared.bootstrap import bootstrap_database, delete_topics, drop_database, ensure_topics
from shared.kafka import consumer_lag
from shared.settings import Settings
from tests.support.contributions import known_to_contributions
from tests.support.db import connect_as
from tests.support.events import request_runs
from tests.support.kafka import read_to_end, wait_for
from tests.support.processes import (
    ROOT,
    ServiceProcess,
    ensure_infrastructure,
    isolated_settings,
    run_module,
    small_world_arguments,
    start_module,
)
from tests.support.referentiel import load_and_wait

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

PORTALS, DATASETS_PER_PORTAL = 100, 500  # 50,000 datasets, plus their copies on the simulated data.gouv.fr
CHAIN = ("harvester", "consolidator", "indicators", "contributions")
CONSUMED = {"harvester": ("harvest.commands", "contributions.events"),
            "consolidator": ("harvest.datasets", "harvest.runs", "contributions.events"),
            "indicators": ("registry.organizations", "registry.datasets"),
            "contributions": ("registry.organizations", "registry.datasets")}  # fmt: skip
CORRECTIONS = 5  # populations moderators correct once the harvest has settled


@dataclass
class Chain:
    settings: Settings
    services: dict[str, ServiceProcess]

    async def restart(self, name: str) -> None:
        """Kill -9 every instance of the service (no shutdown hook runs), then start them again."""
        instances = [key for key, service in self.services.items() if service.name == name]
        for key in instances:
            self.services[key].kill()
        for key in instances:
            killed = self.services[key]
            self.services[key] = ServiceProcess(name, killed.settings, killed.log_path.parent)
            self.services[key].start()
        for key in instances:
            await self.services[key].wait_ready(timeout=120)

    async def scale_out(self) -> None:
        """A second instance of every service, in the same consumer groups, on ports of its own."""
        logs = self.services["harvester"].log_path.parent / "second"
        logs.mkdir(exist_ok=True)
        second = self.settings.model_copy(update={f"{name}_port": self.settings.port_of(name) + 50 for name in CHAIN})
        for name in CHAIN:
            self.services[f"{name}-2"] = ServiceProcess(name, second, logs)
            self.services[f"{name}-2"].start()
        for name in CHAIN:
            await self.services[f"{name}-2"].wait_ready(timeout=120)

    async def consolidated(self) -> int:
        conn = await connect_as(self.settings)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM registry.dataset_sources"))
        finally:
            await conn.close()


Fault = Callable[[Chain], Awaitable[None]]


async def settled(chain: Chain) -> None:
    """Every run finished, every consumer caught up, every outbox empty, twice in a row."""
    settings = chain.settings
    waiting: dict[str, Any] = {}

    async def quiet() -> bool:
        conn = await connect_as(settings)
        try:
            pending = await conn.fetchval("SELECT count(*) FROM harvest.runs WHERE status IN ('queued', 'running')")
            outboxes = {s: await conn.fetchval(f"SELECT count(*) FROM {s}.outbox")
                        for s in ("harvest", "registry", "indicators", "contributions")}  # fmt: skip
        finally:
            await conn.close()
        lags = {f"{service}<-{topic}": await consumer_lag(settings, settings.group(service, topic),
                                                           settings.topic(topic))
                for service, topics in CONSUMED.items() for topic in topics}  # fmt: skip
        waiting.clear()
        waiting.update({"runs pending": pending} if pending else {})
        waiting.update({f"{s}.outbox": n for s, n in outboxes.items() if n})
        waiting.update({f"lag {k}": n for k, n in lags.items() if n})
        return not waiting

    async def twice() -> bool:
        if not await quiet():
            return False
        await asyncio.sleep(3)
        return await quiet()

    try:
        await wait_for(twice, timeout=600, interval=2)
    except AssertionError as unsettled:
        said = {name: _last_complaints(service.log_path) for name, service in chain.services.items()}
        raise AssertionError(f"{unsettled}; still waiting on {waiting}; the services last said {said}") from None


def _last_complaints(log: Path, count: int = 5) -> list[str]:
    """A service's last warnings and errors, for a failure that would otherwise say only 'not settled'."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return [line[:400] for line in lines if '"WARNING"' in line or '"ERROR"' in line][-count:]


async def snapshot(settings: Settings) -> dict[str, Any]:
    """The state a run ends in, in terms that do not depend on the order events were handled in.

    A canonical dataset is known by the portal records it holds: its id is minted from the first
    record's identity, and which record comes first depends on harvest and batch order (several
    portals are harvested at once), so ids are compared within a run, groupings across runs. What a
    dataset shows (its primary record's metadata) must not depend on that order."""
    conn = await connect_as(settings)
    try:
        rows = await conn.fetch(
            """SELECT d.id, d.organization_id, d.state ->> 'title' AS title, d.withdrawn,
                      d.state ->> 'licence' AS licence, (d.state -> 'themes')::text AS themes,
                      d.state ->> 'modified' AS modified, md5((d.state -> 'resources')::text) AS resources,
                      array_agg(s.source_id || ':' || s.remote_id ORDER BY s.source_id, s.remote_id) AS records
               FROM registry.datasets d JOIN registry.dataset_sources s ON s.dataset_id = d.id
               GROUP BY d.id""")  # fmt: skip
        organizations = {r["id"]: (r["name"], r["type"], r["status"], r["population"]) for r in await conn.fetch(
            "SELECT id, name, type, status, population FROM registry.organizations")}  # fmt: skip
        indicators = {(r["scope"], r["scope_id"]): json.loads(r["values"]) for r in await conn.fetch(
            'SELECT scope, scope_id, "values" FROM indicators.current_values')}  # fmt: skip
        runs = [r["status"] for r in await conn.fetch("SELECT status FROM harvest.runs")]
        items = await conn.fetchval("SELECT coalesce(sum(items_seen), 0) FROM harvest.runs")
        records = await conn.fetchval("SELECT count(*) FROM registry.dataset_sources")
        emptied = await conn.fetch("SELECT id FROM registry.datasets WHERE NOT withdrawn AND id NOT IN "
                                   "(SELECT dataset_id FROM registry.dataset_sources)")  # fmt: skip
    finally:
        await conn.close()
    assert emptied == []  # a live dataset always holds a record
    shown = ("organization_id", "title", "withdrawn", "licence", "themes", "modified", "resources")
    datasets = {tuple(r["records"]): tuple(r[c] for c in shown) for r in rows}
    assert len(datasets) == len(rows)  # no record in two datasets
    by_id = {r["id"]: (r["organization_id"], r["title"], r["withdrawn"], len(r["records"])) for r in rows}
    compacted = ("registry.datasets", "registry.organizations", "indicators.updated")
    datasets_topic, organizations_topic, indicators_topic = await asyncio.gather(
        *(read_to_end(settings, topic) for topic in compacted)
    )
    latest = {r.key.decode(): json.loads(r.value) for r in datasets_topic if r.value}
    announced = {key: _dataset_state(event) for key, event in latest.items() if not event["dataset"]["withdrawn"]}
    live = {key: state for key, state in by_id.items() if not state[2]}
    assert announced == live  # the compacted topic holds every live dataset's latest state, no other
    topics = {}
    for topic, read, project in (("registry.organizations", organizations_topic, _organization_state),
                                 ("indicators.updated", indicators_topic, _indicators_state)):  # fmt: skip
        events = {r.key: json.loads(r.value) for r in read if r.value}
        topics[topic] = {key.decode(): project(event) for key, event in events.items()}
    return {"datasets": datasets, "organizations": organizations, "indicators": indicators, "topics": topics,
            "runs": runs, "items": items, "records": records}  # fmt: skip


def _dataset_state(event: dict[str, Any]) -> tuple[Any, ...]:
    d = event["dataset"]
    return d["organization_id"], d["title"], d["withdrawn"], len(d["sources"])


def _organization_state(event: dict[str, Any]) -> tuple[Any, ...]:
    o = event["organization"]
    return o["name"], o["type"], o["status"]


def _indicators_state(event: dict[str, Any]) -> dict[str, Any]:
    return event["values"]  # type: ignore[no-any-return]


async def harvest(fault: Fault | None, label: str) -> dict[str, Any]:
    settings = isolated_settings(label, 24000, retry_backoff_seconds=0.05, withdrawal_grace_seconds=0,
                                 harvest_concurrency=8)  # fmt: skip
    logs = ROOT / "var/test-logs" / f"reliability-{label}"
    logs.mkdir(parents=True, exist_ok=True)
    ensure_infrastructure()
    await bootstrap_database(settings)
    await ensure_topics(settings)
    sources = logs / "sources.yaml"
    arguments = ["--portals", str(PORTALS), "--datasets", str(DATASETS_PER_PORTAL), "--sources-file", str(sources)]
    arguments += small_world_arguments(DATASETS_PER_PORTAL)
    simulator = start_module("simulated_portals", arguments, settings, logs / "simulator.log")
    chain = Chain(settings, {name: ServiceProcess(name, settings, logs) for name in CHAIN})
    try:
        for service in chain.services.values():
            service.start()
        for service in chain.services.values():
            await service.wait_ready(timeout=120)
        await wait_for(lambda: _serving(settings), timeout=120, interval=0.5)
        await load_and_wait(settings)  # as in production: the registry is seeded before any harvest
        await run_module(settings, "services.harvester", "sources", "seed", str(sources))
        conn = await connect_as(settings, "harvester")
        source_ids = [r["id"] for r in await conn.fetch("SELECT id FROM harvest.sources ORDER BY id")]
        await conn.close()
        await request_runs(settings, source_ids)
        if fault is not None:
            await fault(chain)
        await settled(chain)
        await correct(chain)
        await settled(chain)
        return await snapshot(settings)
    finally:
        for service in chain.services.values():
            service.stop()
        simulator.terminate()
        simulator.wait(20)
        await drop_database(settings)
        await delete_topics(settings)


async def correct(chain: Chain) -> None:
    """Moderators accept corrections of the population of a few communes, as the public proposed them."""
    settings = chain.settings
    token = (await run_module(settings, "services.contributions", "tokens", "create", "--role", "moderator",
                              "--name", "reliability")).strip()  # fmt: skip
    conn = await connect_as(settings)
    try:
        rows = await conn.fetch(
            "SELECT id FROM registry.organizations WHERE type = 'COM' ORDER BY id COLLATE \"C\" LIMIT $1", CORRECTIONS
        )
    finally:
        await conn.close()
    contributions = chain.services["contributions"].url
    async with aiohttp.ClientSession() as http:
        for n, row in enumerate(rows):
            await known_to_contributions(settings, row["id"])
            body = {"organization_id": row["id"], "field": "population", "value": str(1_000 + n)}
            async with http.post(f"{contributions}/api/v1/contributions", json=body) as response:
                assert response.status == 201, await response.text()
                proposal = await response.json()
            decision = f"{contributions}/api/v1/contributions/{proposal['id']}/accept"
            headers = {"Authorization": f"Bearer {token}"}
            async with http.post(decision, json={"comment": "vu"}, headers=headers) as response:
                assert response.status == 200, await response.text()


@pytest.fixture(scope="module")
async def reference() -> dict[str, Any]:
    state = await harvest(None, "ref")
    # Every record harvested is kept (50,000 and the national portal's copies), copies joined their origin.
    assert state["records"] == state["items"] >= PORTALS * DATASETS_PER_PORTAL
    assert PORTALS * DATASETS_PER_PORTAL * 0.9 <= len(state["datasets"]) < state["records"]
    assert set(state["runs"]) <= {"done", "done-errors"}, set(state["runs"])
    communes = sorted(i for i, o in state["organizations"].items() if o[1] == "COM")[:CORRECTIONS]
    assert [state["organizations"][i][3] for i in communes] == [1_000 + n for n in range(CORRECTIONS)]  # corrected
    return state


def assert_same(state: dict[str, Any], reference: dict[str, Any]) -> None:
    assert (state["records"], state["items"]) == (reference["records"], reference["items"])
    for part in ("datasets", "organizations", "indicators"):
        missing = reference[part].keys() - state[part].keys()
        extra = state[part].keys() - reference[part].keys()
        differ = [(k, reference[part][k], state[part][k]) for k in reference[part].keys() & state[part].keys()
                  if reference[part][k] != state[part][k]]  # fmt: skip
        assert (missing, extra, differ[:5]) == (set(), set(), []), part
    for topic, latest in reference["topics"].items():
        assert state["topics"][topic] == latest, topic


async def test_two_instances_of_every_service_through_kills_and_restarts_end_in_the_state_one_ends_in(reference):
    """Every consumer service scaled out, from the start of the harvest to the end of the corrections,
    through four faults in turn, each once the previous one has been recovered from and more records
    are in: both consolidators killed and restarted, the broker stopped and started, both indicators
    instances killed and restarted, PostgreSQL stopped and started."""

    async def scaled_out_through_faults(chain: Chain) -> None:
        await chain.scale_out()
        await wait_for(lambda: _at_least(chain, 8_000), timeout=300, interval=0.5)
        await chain.restart("consolidator")
        await wait_for(lambda: _at_least(chain, 16_000), timeout=300, interval=0.5)
        await _run("infra/kafka/kafka.sh", "stop")
        await asyncio.sleep(2)
        await _run("infra/kafka/kafka.sh", "start")
        await wait_for(lambda: _at_least(chain, 24_000), timeout=300, interval=0.5)
        await chain.restart("indicators")
        await wait_for(lambda: _at_least(chain, 32_000), timeout=300, interval=0.5)
        await _run("infra/postgres/postgres.sh", "stop")
        await asyncio.sleep(2)
        await _run("infra/postgres/postgres.sh", "start")

    assert_same(await harvest(scaled_out_through_faults, "faults"), reference)


async def _serving(settings: Settings) -> bool:
    url = f"http://{settings.http_host}:{settings.simulator_port}/udata/datagouv/api/1/datasets/?page_size=1"
    try:
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return response.status == 200
    except aiohttp.ClientError:
        return False


async def _at_least(chain: Chain, records: int) -> bool:
    try:
        return await chain.consolidated() >= records
    except OSError:
        return False


async def _run(*command: str) -> None:
    process = await asyncio.create_subprocess_exec(*command, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.STDOUT)  # fmt: skip
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode(errors="replace")
