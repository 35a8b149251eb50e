"""Every portal family and every quirk of tests/support/quirky.py, harvested through the real broker:
sources added and runs asked through the operator API, events read back from harvest.datasets."""

import asyncio
import json
import re

import pytest

from shared.settings import Settings
from simulated_portals.app import source_url
from simulated_portals.catalogue import PortalSpec, World, dataset
from tests.support.db import connect_as
from tests.support.harvest import add_source, events_of, run
from tests.support.kafka import read_all, wait_for

pytestmark = pytest.mark.integration


async def harvest(http, services, operator, world: World, portal: str, spec: PortalSpec, mode: str = "full"):
    source_id = f"t-{spec.family}-{spec.slug}"
    await add_source(
        http,
        services["harvester"].url,
        operator,
        source_id,
        source_url(world, portal, spec.family, spec.slug),
        spec.family,
    )
    return await run(http, services["harvester"].url, operator, source_id, mode)


def expected_remote_id(portal: str, spec: PortalSpec, index: int) -> str:
    d = dataset(spec, index)
    return d.landing_page(f"{portal}{spec.path}") if spec.family == "ods" else d.id


async def test_every_family_maps_every_dataset(services, portal, world, settings, http, operator):
    local = [p for p in world.portals if re.fullmatch(r"(ods|ckan|dcat|arcgis|udata|csw)-\d{4}", p.slug)]
    assert {p.family for p in local} == {"ods", "ckan", "dcat", "arcgis", "udata", "csw"}
    runs = {spec.slug: await harvest(http, services, operator, world, portal, spec) for spec in local}
    events = await events_of(settings, {r["run_id"] for r in runs.values()})
    names: set[str] = set()
    for spec in local:
        result = runs[spec.slug]
        assert (result["status"], result["complete"], result["items_seen"]) == ("done", True, spec.size), spec.slug
        received = {e["remote_id"]: e for e in events[result["run_id"]]}
        assert set(received) == {expected_remote_id(portal, spec, i) for i in range(spec.size)}, spec.slug
        for index in (0, spec.size - 1):
            source = dataset(spec, index)
            event = received[expected_remote_id(portal, spec, index)]
            assert event["title"] == source.title.strip()
            assert event["publisher"]["name"].strip() == source.publisher.name.strip()
            assert event["modified"].startswith(source.modified.isoformat()[:19])  # the portal's date
            assert event["portal_kind"] == spec.family and event["content_hash"]
            if spec.family == "csw":  # GeoNetwork: the record's page, beside the CSW endpoint
                assert event["remote_url"] == source.landing_page(f"{portal}{spec.path}")
            assert {r["url"] for r in event["resources"]} >= (
                set() if spec.family == "ods" else {url for url, _, _ in source.resources}
            )
        if spec.family in ("ckan", "dcat", "arcgis", "udata"):  # the families whose files declare schemas
            declared = {
                SCHEMA_NAMES.get(s[0], s[0]) for i in range(spec.size) for _, _, s in dataset(spec, i).resources if s
            }
            found = {r["schema"]["name"] for e in received.values() for r in e["resources"] if r.get("schema")}
            assert found == declared and found, spec.slug
            names |= found
    assert {"scdl/deliberations", IRVE_ON_GITHUB} <= names  # schemas declared by a file elsewhere, too


# What a schema declared by its URL is named (schema.data.gouv.fr's are named as there).
SCDL_DELIBERATIONS = "https://git.opendatafrance.net/scdl/deliberations/raw/v2.1.5/schema.json"
SCHEMA_NAMES = {SCDL_DELIBERATIONS: "scdl/deliberations"}
IRVE_ON_GITHUB = "https://raw.githubusercontent.com/etalab/schema-irve/v2.3.0/statique/schema.json"


async def test_datagouv_gives_the_upstream_origin_of_harvested_datasets(
    services, portal, world, settings, http, operator
):
    datagouv = world.portal("udata", "datagouv")
    result = await harvest(http, services, operator, world, portal, datagouv)
    assert (result["status"], result["items_seen"]) == ("done", world.total_datasets(datagouv))
    events = (await events_of(settings, {result["run_id"]}))[result["run_id"]]
    mirrored = [e for e in events if e["upstream"]]
    assert len(mirrored) == len(world.mirrors) > 0
    local, index = world.mirrors[0]
    upstream = next(e["upstream"] for e in mirrored if e["title"] == dataset(local, index).title.strip())
    assert upstream["remote_id"] == expected_remote_id(portal, local, index)
    assert upstream["remote_url"] == dataset(local, index).landing_page(f"{portal}{local.path}")
    assert upstream["domain"] == portal.split("//")[1]


FAILING_EVERY = {"untitled": 5, "huge": 5}  # every Nth dataset of these portals is an item error
QUIRK_OUTCOMES = {
    "rate-limited": ("done", True),
    "flaky": ("done", True),
    "html-errors": ("done", True),
    "truncating": ("done", True),
    "success-false": ("done", True),
    "capped": ("done", True),
    "deep": ("done", True),
    "slow": ("done", True),
    "paged-feed": ("done", True),
    "csw-overcounted": ("done", True),
    "untitled": ("done-errors", True),
    "large": ("done", True),
    "huge": ("done-errors", True),
    "endless": ("partial", False),
    "endless-ckan": ("partial", False),
    "endless-dcat": ("partial", False),
    "endless-csw": ("partial", False),
    "csw-exception": ("partial", False),
}
# Why an incomplete run stopped, in its message.
STOPPED_BY = {"csw-exception": ("CSW exception NoApplicableCode",)}


async def test_quirky_portals_are_harvested_or_fail_clearly(services, portal, world, settings, http, operator):
    from tests.support.quirky import QUIRKY_PORTALS

    specs = [p for p in QUIRKY_PORTALS if p.slug in QUIRK_OUTCOMES]
    results = await asyncio.gather(*(harvest(http, services, operator, world, portal, spec) for spec in specs))
    for spec, result in zip(specs, results, strict=True):
        status, complete = QUIRK_OUTCOMES[spec.slug]
        assert (result["status"], result["complete"]) == (status, complete), (spec.slug, result)
        if complete:
            failing = FAILING_EVERY.get(spec.slug)
            assert result["items_seen"] == spec.size - (spec.size // failing if failing else 0), spec.slug
        else:
            words = STOPPED_BY.get(spec.slug, ("repeats", "already read"))
            assert any(word in (result["message"] or "") for word in words), result
    errors = {}
    for spec, result in zip(specs, results, strict=True):
        async with http.get(
            f"{services['harvester'].url}/api/v1/harvest/runs/{result['run_id']}", headers=operator
        ) as response:
            errors[spec.slug] = (await response.json())["item_errors"]
    assert len(errors["untitled"]) == 5 and all(
        "title" in e["reason"] and e["stage"] == "map" for e in errors["untitled"]
    )
    # A dataset whose event is above `max_event_bytes` (tens of thousands of files) is an item error;
    # the run goes on.
    huge = next(s for s in specs if s.slug == "huge")
    assert sorted(e["remote_id"] for e in errors["huge"]) == sorted(expected_remote_id(portal, huge, i) for i in (4, 9))
    assert all(e["stage"] == "publish" and "too large" in e["reason"] for e in errors["huge"])
    assert errors["large"] == []
    await _large_datasets_reach_the_registry_and_its_topic(settings, next(s for s in specs if s.slug == "large"))


async def _large_datasets_reach_the_registry_and_its_topic(settings: Settings, spec: PortalSpec) -> None:
    """Datasets of 15,000 files (1.5 MB events, above Kafka's default 1 MB) are consolidated with all
    their files, and their DatasetChanged published on registry.datasets."""
    source_id = f"t-{spec.family}-{spec.slug}"
    conn = await connect_as(settings, "consolidator")
    try:

        async def files_per_dataset() -> dict[str, int] | None:
            rows = await conn.fetch(
                """SELECT d.id, json_array_length(d.state::json->'resources') AS files FROM registry.datasets d
                   JOIN registry.dataset_sources s ON s.dataset_id = d.id WHERE s.source_id = $1""",
                source_id,
            )
            return {r["id"]: r["files"] for r in rows} if len(rows) == spec.size else None

        files = await wait_for(files_per_dataset, timeout=60)
    finally:
        await conn.close()
    large = {dataset_id for dataset_id, count in files.items() if count == spec.quirks.huge_files}
    assert len(large) == spec.size // spec.quirks.huge_every
    published = {}
    for record in await read_all(settings, "registry.datasets", idle_ms=800):
        if record.key.decode() in large:
            published[record.key.decode()] = len(json.loads(record.value)["dataset"]["resources"])
            assert len(record.value) > 2**20
    assert published == dict.fromkeys(large, spec.quirks.huge_files)


async def test_every_dcat_serialisation_and_hydra_paging_style(services, portal, world, settings, http, operator):
    from tests.support.quirky import QUIRKY_PORTALS

    specs = [p for p in QUIRKY_PORTALS if p.slug.startswith("hydra-")]
    assert len(specs) == 12
    results = await asyncio.gather(*(harvest(http, services, operator, world, portal, spec) for spec in specs))
    for spec, result in zip(specs, results, strict=True):
        assert (result["status"], result["items_seen"]) == ("done", 25), (spec.slug, result)


async def test_incremental_runs_ask_only_for_what_changed(services, portal, world, settings, http, operator):
    for spec in [p for p in world.portals if p.family in ("ods", "ckan", "udata") and p.slug != "thin"][:3]:
        source_id = f"t-{spec.family}-{spec.slug}"
        full = await harvest(http, services, operator, world, portal, spec)
        assert full["complete"]
        incremental = await run(http, services["harvester"].url, operator, source_id, mode="incremental")
        # The watermark is the full run's start minus an hour: the simulated datasets are all older.
        assert (incremental["status"], incremental["complete"], incremental["items_seen"]) == ("done", True, 0)
        assert incremental["since"] is not None


async def test_a_failing_source_never_stops_the_others(services, portal, world, settings, http, operator):
    harvester = services["harvester"].url
    await add_source(http, harvester, operator, "t-missing", f"{portal}/ckan/does-not-exist", "ckan")
    good = next(p for p in world.portals if p.family == "ckan")
    bad_run, good_run = await asyncio.gather(
        run(http, harvester, operator, "t-missing"),
        harvest(http, services, operator, world, portal, good),
    )
    assert (bad_run["status"], bad_run["complete"]) == ("failed", False)
    assert "HTTP 404" in bad_run["message"]
    assert good_run["status"] == "done"
    # The public sees the status, not who asked nor the raw message; the operator's token shows them.
    async with http.get(f"{harvester}/api/v1/harvest/runs/{bad_run['run_id']}") as response:
        public = await response.json()
    assert (public["status"], public["message"], public["requested_by"]) == ("failed", None, None)
    assert bad_run["requested_by"] == "test"


async def test_operators_need_a_token_and_a_valid_source(services, portal, http, operator):
    harvester = services["harvester"].url
    body = {"url": "https://example.org", "family": "ckan", "name": "x"}
    async with http.post(f"{harvester}/api/v1/sources", json=body) as response:
        assert response.status == 401
    async with http.post(
        f"{harvester}/api/v1/sources", json=body, headers={"Authorization": "Bearer not-a-token"}
    ) as response:
        assert response.status == 401
    async with http.post(
        f"{harvester}/api/v1/sources", json={**body, "family": "sharepoint"}, headers=operator
    ) as response:
        assert response.status == 422
        assert "famille inconnue" in json.dumps(await response.json(), ensure_ascii=False)
    async with http.post(f"{harvester}/api/v1/harvest/runs", json={"source_id": "nope"}, headers=operator) as response:
        assert response.status == 404
    duplicate = {"id": "t-duplicate", "url": f"{portal}/ckan/does-not-exist", "family": "ckan", "name": "x"}
    async with http.post(f"{harvester}/api/v1/sources", json=duplicate, headers=operator) as response:
        assert response.status == 409
        assert "t-missing" in (await response.json())["error"]["message"]


async def test_the_scheduler_asks_for_due_sources(services, portal, world, settings, http, operator):
    spec = next(p for p in world.portals if p.family == "arcgis")
    source_id = "t-scheduled"
    # The legacy /data.json address, which answers 301 to the feed: the redirect is followed.
    await add_source(http, services["harvester"].url, operator, source_id, f"{portal}{spec.path}/data.json", "arcgis")
    conn = await connect_as(settings, "harvester")
    await conn.execute("UPDATE harvest.sources SET schedule = 'every 1h', next_run_at = now() WHERE id = $1", source_id)

    async def scheduled_run():
        return await conn.fetchrow(
            "SELECT status, requested_by FROM harvest.runs WHERE source_id = $1 AND status IN ('done', 'done-errors')",
            source_id,
        )

    row = await wait_for(scheduled_run, timeout=120)
    next_run = await conn.fetchval("SELECT next_run_at - now() FROM harvest.sources WHERE id = $1", source_id)
    await conn.close()
    assert row["requested_by"] == "scheduler"
    assert 3000 < next_run.total_seconds() <= 3600


async def test_the_api_forwards_the_sources_and_runs_paths_to_the_harvester(services, http, operator):
    api, harvester = services["api"].url, services["harvester"].url
    async with http.get(f"{api}/api/v1/sources") as through_api, http.get(f"{harvester}/api/v1/sources") as direct:
        assert through_api.status == direct.status == 200
        assert {s["id"] for s in (await through_api.json())["data"]} == {s["id"] for s in (await direct.json())["data"]}
    async with http.post(f"{api}/api/v1/harvest/runs", json={"source_id": "x"}) as response:
        assert response.status == 401
    async with http.post(f"{api}/api/v1/harvest/runs", json={"source_id": "nope"}, headers=operator) as response:
        assert response.status == 404


async def test_a_sources_territory_travels_with_its_publishers(services, portal, world, settings, http, operator):
    from tests.support.quirky import QUIRKY_PORTALS

    spec = next(p for p in QUIRKY_PORTALS if p.slug == "territory")
    body = {
        "id": "t-territory",
        "url": f"{portal}{spec.path}",
        "family": "udata",
        "name": "Portail de l'Ain",
        "schedule": "@manual",
        "departement": "01",
    }
    async with http.post(f"{services['harvester'].url}/api/v1/sources", json=body, headers=operator) as response:
        assert response.status == 201, await response.text()
    result = await run(http, services["harvester"].url, operator, "t-territory")
    events = (await events_of(settings, {result["run_id"]}))[result["run_id"]]
    assert len(events) == spec.size and {e["publisher"]["departement"] for e in events} == {"01"}
