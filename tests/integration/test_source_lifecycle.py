"""Sources an operator pauses, resumes, moves and removes, through the api (which forwards to the
harvester), the real broker and the consolidator: a removed source's records are withdrawn as any
record a portal stopped listing, a dataset another source still lists stays, and every decision is
kept with who made it."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from shared.settings import Settings
from simulated_portals.app import source_url
from simulated_portals.catalogue import World, build_world, dataset, is_mirrored
from tests.support.db import connect_as
from tests.support.harvest import add_source, run
from tests.support.kafka import wait_for
from tests.support.portals import serving

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def life_world(settings: Settings) -> World:
    """A CKAN portal, half of whose datasets data.gouv.fr also lists, served apart from the session's."""
    small = build_world(portals=2, datasets_per_portal=12, seed=41, referentiel=settings.referentiel_path,
                        mirrored_share=0.5)  # fmt: skip
    ckan = replace(next(p for p in small.portals if p.family == "ckan"), slug="life-ckan")
    national = replace(small.portals[-1], slug="life-datagouv", size=4)
    return World([ckan, national], datagouv_slug="life-datagouv")


@pytest.fixture(scope="module")
async def life_portal(settings: Settings, life_world: World) -> AsyncIterator[str]:
    async with serving(life_world, settings, 2) as url:
        yield url


async def test_a_removed_source_s_datasets_are_withdrawn_unless_another_source_lists_them(
    services, settings, http, operator, life_world, life_portal
):
    api, harvester = services["api"].url, services["harvester"].url
    ckan, national = life_world.portals
    for spec in (ckan, national):
        address = source_url(life_world, life_portal, spec.family, spec.slug)
        await add_source(http, harvester, operator, spec.slug, address, spec.family)
        assert (await run(http, harvester, operator, spec.slug))["status"] == "done"
    registry = await connect_as(settings, "consolidator")
    try:
        live = """SELECT count(*) FILTER (WHERE s.withdrawn_at IS NULL) AS records,
                         count(*) FILTER (WHERE NOT d.withdrawn) AS datasets
                  FROM registry.dataset_sources s JOIN registry.datasets d ON d.id = s.dataset_id
                  WHERE s.source_id = 'life-ckan'"""

        async def consolidated(records: int, datasets: int):
            row = await registry.fetchrow(live)
            return row if (row["records"], row["datasets"]) == (records, datasets) else None

        await wait_for(lambda: consolidated(ckan.size, ckan.size), timeout=60)
        mirrored = sum(1 for i in range(ckan.size) if is_mirrored(ckan, i))
        assert 0 < mirrored < ckan.size

        # Removed through the api, as the operations page does: scheduled at once, listing nothing.
        async with http.delete(f"{api}/api/v1/sources/life-ckan", headers=operator) as response:
            assert response.status == 200, await response.text()
            assert (await response.json())["removed_at"]
        row = await wait_for(lambda: consolidated(0, mirrored), timeout=60)
        assert (row["records"], row["datasets"]) == (0, mirrored)  # data.gouv.fr's copies keep theirs
        kept = await registry.fetch(
            """SELECT d.state->>'title' AS title FROM registry.dataset_sources s
               JOIN registry.datasets d ON d.id = s.dataset_id WHERE s.source_id = 'life-ckan' AND NOT d.withdrawn"""
        )
        assert sorted(r["title"] for r in kept) == sorted(
            dataset(ckan, i).title.strip() for i in range(ckan.size) if is_mirrored(ckan, i)
        )
    finally:
        await registry.close()

    # The removal runs asked the portal nothing; no one can ask for another run, nor remove it twice.
    async with http.get(f"{api}/api/v1/harvest/runs", params={"source_id": "life-ckan"}, headers=operator) as response:
        runs = (await response.json())["data"]
    assert runs[0]["requested_by"] == "scheduler" and runs[0]["items_seen"] == 0 and runs[0]["status"] == "done"
    async with http.post(f"{api}/api/v1/harvest/runs", json={"source_id": "life-ckan"}, headers=operator) as response:
        assert response.status == 409 and "supprimée" in (await response.json())["error"]["message"]
    async with http.delete(f"{api}/api/v1/sources/life-ckan", headers=operator) as response:
        assert response.status == 409
    async with http.get(f"{api}/api/v1/sources/life-ckan/changes") as response:
        changes = (await response.json())["data"]
    assert [(c["action"], c["actor"]) for c in changes] == [("removed", "test")]


async def test_a_paused_source_is_not_scheduled_and_a_moved_one_keeps_its_history(
    services, settings, http, operator, life_world, life_portal
):
    api, harvester = services["api"].url, services["harvester"].url
    national = life_world.portals[1]
    address = source_url(life_world, life_portal, "udata", national.slug)  # the source life-datagouv's
    body = {"id": "life-paused", "url": f"{address}/", "family": "udata", "name": "Pause", "schedule": "every 1m"}
    async with http.post(f"{api}/api/v1/sources", json=body, headers=operator) as response:
        assert response.status == 201, await response.text()
    first = await run(http, harvester, operator, "life-paused")
    assert first["status"] == "done"

    # Without a token, nothing changes.
    async with http.post(f"{api}/api/v1/sources/life-paused/pause") as response:
        assert response.status == 401
    async with http.post(f"{api}/api/v1/sources/life-paused/pause", headers=operator) as response:
        assert response.status == 200 and (await response.json())["enabled"] is False
    conn = await connect_as(settings, "harvester")
    try:
        # Its time comes while it is paused: the scheduler (every second here) asks for nothing.
        await conn.execute(
            "UPDATE harvest.sources SET next_run_at = now() - interval '1 second' WHERE id = 'life-paused'"
        )
        await asyncio.sleep(3 * settings.schedule_check_seconds + 0.5)  # three scheduler rounds
        assert await conn.fetchval("SELECT count(*) FROM harvest.runs WHERE source_id = 'life-paused'") == 1

        async with http.post(f"{api}/api/v1/sources/life-paused/resume", headers=operator) as response:
            assert response.status == 200 and (await response.json())["enabled"] is True
        next_run = await conn.fetchval("SELECT next_run_at - now() FROM harvest.sources WHERE id = 'life-paused'")
        assert 50 < next_run.total_seconds() <= 60  # its schedule again, from now

        # Moved to another spelling of the portal's address: the same source, its earlier run still its own.
        # Not to an address another source has, nor to what is no web address.
        for taken_or_wrong, status in ((address, 409), ("ftp://portail.example", 422)):
            async with http.patch(
                f"{api}/api/v1/sources/life-paused", json={"url": taken_or_wrong}, headers=operator
            ) as answer:
                assert answer.status == status, taken_or_wrong
        moved = f"{address}//"
        async with http.patch(f"{api}/api/v1/sources/life-paused", json={"url": moved}, headers=operator) as answer:
            assert answer.status == 200 and (await answer.json())["url"] == moved
        second = await run(http, harvester, operator, "life-paused")
        assert second["status"] == "done" and second["items_seen"] == first["items_seen"]
        async with http.get(f"{api}/api/v1/harvest/runs", params={"source_id": "life-paused"}) as response:
            assert {r["run_id"] for r in (await response.json())["data"]} == {first["run_id"], second["run_id"]}
    finally:
        await conn.close()
    async with http.get(f"{api}/api/v1/sources/life-paused/changes") as response:
        changes = (await response.json())["data"]
    assert [c["action"] for c in changes] == ["paused", "resumed", "moved"]
    assert changes[2]["detail"] == {"from": body["url"], "to": moved}
