"""Platforms as first-class (ODF indicators 8, 9, 11, 13, 19), through the real broker: simulated
portals hosting one, two and four organisations are harvested; the indicators service computes each
platform's hosted councils, datasets, typology and technology, announces them on indicators.updated,
and the api lists the platforms, the organisations each hosts, and exports them; OpenDataSoft's
counters make an audience of their own; an intercommunality publishing for a member commune counts as
cooperation."""

import csv
import io
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from shared.events import Publisher
from shared.settings import Settings
from simulated_portals.app import source_url
from simulated_portals.catalogue import PortalSpec, World, audience_of, build_world, dataset
from tests.support.events import discovered, publish
from tests.support.harvest import add_source, run
from tests.support.kafka import read_all, wait_for
from tests.support.portals import serving

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def platform_world(settings: Settings) -> World:
    """Local portals hosting one (ods), two (ckan) and four (arcgis) organisations, served apart (a seed
    whose publishers are named without homonyms: a "Saint-Cyprien" stays unattributed, as it should)."""
    small = build_world(portals=4, datasets_per_portal=20, seed=66, referentiel=settings.referentiel_path)
    # Slugs of their own: a portal's slug names its files' domain, and files shared with the session's
    # "arcgis-0003" would merge datasets of the two worlds (docs/consolidation.md).
    chosen = [p for p in small.portals if p.slug in ("ods-0000", "ckan-0001", "arcgis-0003")]
    return World([replace(p, slug=f"plat-{p.family}") for p in chosen])


@pytest.fixture(scope="module")
async def platform_portal(settings: Settings, platform_world: World) -> AsyncIterator[str]:
    async with serving(platform_world, settings, 3) as url:
        yield url


def hosted(spec: PortalSpec) -> Counter[str]:
    """The publishers whose datasets the simulated portal lists, with how many: what the simulator
    drew (names of the référentiel's organisations), read independently of the services."""
    return Counter(dataset(spec, i).publisher.name for i in range(spec.size))


async def get(http, url: str):
    async with http.get(url) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def test_platforms_list_what_they_host_with_their_typology(
    referentiel, services, settings, http, operator, platform_world, platform_portal
):
    api, harvester = services["api"].url, services["harvester"].url
    expected_typology = {"plat-ods": "dedie", "plat-ckan": "partage", "plat-arcgis": "mutualise"}
    for spec in platform_world.portals:
        assert len(hosted(spec)) == {"dedie": 1, "partage": 2, "mutualise": 4}[expected_typology[spec.slug]]
        address = source_url(platform_world, platform_portal, spec.family, spec.slug)
        await add_source(http, harvester, operator, spec.slug, address, spec.family)
        assert (await run(http, harvester, operator, spec.slug))["status"] == "done"

    async def listed():
        body = await get(http, f"{api}/api/v1/platforms")
        ours = {p["source_id"]: p for p in body["data"] if p["source_id"] in expected_typology}
        complete = len(ours) == 3 and all(p["datasets"] == 20 for p in ours.values())
        return ours if complete else None

    platforms = await wait_for(listed, timeout=90)
    for spec in platform_world.portals:
        platform = platforms[spec.slug]
        assert platform["organizations_hosted"] == len(hosted(spec)), spec.slug
        assert platform["typology"] == expected_typology[spec.slug]
        assert (platform["technology"], platform["status"]) == (spec.family, "harvested")
        # The organisations it hosts, most datasets first, as the simulator drew them.
        organisations = (await get(http, f"{api}/api/v1/platforms/{spec.slug}/organizations"))["data"]
        assert [o["datasets"] for o in organisations] == sorted(hosted(spec).values(), reverse=True)

    # OpenDataSoft's counters (metas.explore) as the dedicated portal's organisation's audience, apart
    # from any udata counter: downloads and API calls summed over its 20 datasets.
    ods = platform_world.portals[0]
    (only,) = (await get(http, f"{api}/api/v1/platforms/{ods.slug}/organizations"))["data"]

    async def measured():
        card = await get(http, f"{api}/api/v1/organizations/{only['id']}")
        return card if any(c["counted_by"] == "ods" for c in card["audience"]) else None

    card = await wait_for(measured, timeout=60)
    counted = [audience_of(dataset(ods, i)) for i in range(ods.size)]
    ods_counters = {c["metric"]: c["count"] for c in card["audience"] if c["counted_by"] == "ods"}
    assert ods_counters == {"downloads": sum(a.downloads for a in counted), "api_calls": sum(a.views for a in counted)}

    national = (await get(http, f"{api}/api/v1/indicators"))["data"][0]["values"]
    for typology in expected_typology.values():
        assert national[f"platform_typology:{typology}"] >= 1
    assert national["platform_technology:arcgis"] >= 1 and national["technology_datasets:arcgis"] >= 20
    assert national["organizations_on_shared_platforms"] >= 6  # the ckan portal's two, the arcgis one's four

    # Other systems follow platforms on indicators.updated, keyed by their address.
    arcgis = platforms["plat-arcgis"]["url"]
    events = [json.loads(r.value) for r in await read_all(settings, "indicators.updated") if r.key]
    announced = [e for e in events if e["scope"] == "platform" and e["scope_id"] == arcgis]
    assert announced and announced[-1]["values"]["organizations_hosted"] == 4

    async with http.get(f"{api}/api/v1/exports/platforms.csv") as response:
        assert response.status == 200
        rows = {r["source_id"]: r for r in csv.DictReader(io.StringIO(await response.text()))}
    assert rows["plat-ckan"]["typology"] == "partage" and rows["plat-ckan"]["organizations_hosted"] == "2"
    async with http.get(f"{api}/api/v1/platforms/no-such-source/organizations") as response:
        assert response.status == 404

    # ODF 18: an operator declares where the ckan platform takes requests for data; a link that is
    # not a web address is refused.
    spec = platform_world.portals[1]
    body = {"id": spec.slug, "url": platforms[spec.slug]["url"], "family": "ckan", "name": "Plateforme partagée",
            "data_requests_url": "ftp://demandes.test"}  # fmt: skip
    async with http.post(f"{harvester}/api/v1/sources", json=body, headers=operator) as response:
        assert response.status in (400, 422), await response.text()
    body["data_requests_url"] = "https://demandes.test/formulaire"
    async with http.post(f"{harvester}/api/v1/sources", json=body, headers=operator) as response:
        assert response.status in (200, 201), await response.text()
    declared = await get(http, f"{api}/api/v1/platforms")
    ckan = next(p for p in declared["data"] if p["source_id"] == spec.slug)
    assert ckan["data_requests_url"] == "https://demandes.test/formulaire"
    assert (
        declared["with_data_requests"]
        == sum(1 for p in declared["data"] if p["data_requests_url"] and p["status"] == "harvested")
        >= 1
    )


async def test_an_intercommunality_publishing_for_a_member_commune_counts_as_cooperation(
    referentiel, services, settings, http
):
    api = services["api"].url
    commune = (await get(http, f"{api}/api/v1/organizations?q=Chateaubourg&type=COM&departement=35"))["data"][0]
    epci_id = (await get(http, f"{api}/api/v1/organizations/{commune['id']}"))["territory"]["epci"]["id"]
    epci = await get(http, f"{api}/api/v1/organizations/{epci_id}")
    publisher = Publisher(name=epci["name"], siren=epci["siren"])
    for remote_id, title in (
        ("piscine", "Horaires de la piscine de Châteaubourg"),
        ("budget", f"Budget {epci['name']}"),
    ):
        await publish(settings, discovered(remote_id, publisher, portal_url="https://epci.test", source_id="epci",
                                           title=title))  # fmt: skip

    async def counted():
        card = await get(http, f"{api}/api/v1/organizations/{epci_id}")
        return card if card["indicators"].get("datasets") == 2 else None

    card = await wait_for(counted, timeout=60)
    assert card["indicators"]["member_communes_served"] == 1  # Châteaubourg; its own name names none
    departement = (await get(http, f"{api}/api/v1/indicators?scope=departement&id=35"))["data"][0]["values"]
    assert departement["epci_serving_communes"] >= 1 and departement["communes_served_by_epci"] >= 1
