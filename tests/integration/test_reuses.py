"""Reuses (ODF indicator 17) and audience through the real broker: a simulated udata portal lists
datasets of two communes, their counters, and reuses made with them; the harvester publishes them, the
indicators service counts the reuses and sums the counters per organisation and nationally, and the
api shows each reuse and the audience on the organisation's card and each dataset's reuses; a reuse
that arrives before its dataset is counted once the dataset does."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from shared.events import Publisher as EventPublisher
from shared.events import ReuseDiscovered
from shared.settings import Settings
from simulated_portals.app import source_url
from simulated_portals.catalogue import PortalSpec, Publisher, World, audience_of, dataset, reuses
from tests.support.events import discovered, publish
from tests.support.harvest import add_source, run
from tests.support.kafka import produce, wait_for
from tests.support.portals import serving

pytestmark = pytest.mark.integration


async def get(http, url: str):
    async with http.get(url) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def commune(http, api: str, name: str) -> Any:
    return (await get(http, f"{api}/api/v1/organizations?q={name}&type=COM"))["data"][0]


@pytest.fixture(scope="module")
async def reuse_portal(referentiel, services, settings: Settings) -> AsyncIterator[tuple[World, str, dict]]:
    """A udata portal of 48 datasets of Vannes and Lorient, with the reuses udata portals list."""
    api = services["api"].url
    async with aiohttp.ClientSession() as http:
        communes = {name: await commune(http, api, name) for name in ("Vannes", "Lorient")}
    spec = PortalSpec(family="udata", slug="reuses", size=48, seed=5, publishers=tuple(
        Publisher(f"Ville de {name}", f"{c['siren']}00017", f"{n:024x}") for n, (name, c) in enumerate(communes.items())
    ))  # fmt: skip
    world = World([spec])
    async with serving(world, settings, 4) as url:
        yield world, url, communes


def expected_reuses(spec: PortalSpec, publisher: str) -> dict[str, int]:
    """The reuses of the publisher's datasets, with how many of them each uses: what the simulator
    drew, read without the services."""
    found = {}
    for reuse in reuses(spec):
        mine = [i for i in reuse.datasets if dataset(spec, i).publisher.name == publisher]
        if mine:
            found[reuse.title] = len(mine)
    return found


async def test_reuses_and_audience_are_counted_per_organisation_and_shown_on_its_card(
    services, settings, http, operator, reuse_portal
):
    world, base, communes = reuse_portal
    spec = world.portals[0]
    api, harvester = services["api"].url, services["harvester"].url
    await add_source(http, harvester, operator, "reuses-udata", source_url(world, base, "udata", "reuses"), "udata")
    assert (await run(http, harvester, operator, "reuses-udata"))["status"] == "done"

    for name, organisation in communes.items():
        expected = expected_reuses(spec, f"Ville de {name}")
        assert expected, name  # the seed gives each commune reuses

        own = sum(1 for i in range(spec.size) if dataset(spec, i).publisher.name == f"Ville de {name}")

        async def counted(organisation=organisation, expected=expected, own=own):
            # Every dataset in, every reuse and the counters too (three topics, three consumers).
            card = await get(http, f"{api}/api/v1/organizations/{organisation['id']}")
            values = card["indicators"]
            complete = values.get("datasets") == own and values.get("reuses") == len(expected) and card["audience"]
            return card if complete else None

        card = await wait_for(counted, timeout=90)
        assert {r["title"]: r["datasets"] for r in card["reuses"]} == expected
        assert all(r["type"] and r["url"].startswith("https://reutilisation-") for r in card["reuses"])
        reused = sum(1 for i in range(spec.size) if dataset(spec, i).publisher.name == f"Ville de {name}"
                     and any(i in r.datasets for r in reuses(spec)))  # fmt: skip
        published = card["indicators"]["datasets"]
        assert card["indicators"]["reused_share"] == round(reused / published, 6)
        listed = await get(http, f"{api}/api/v1/organizations/{organisation['id']}/datasets?page_size=100")
        assert sum(1 for d in listed["data"] if d["reuses"]) == reused
        # Its audience: udata's counters summed over its datasets, as the simulated portal gave them.
        mine = [audience_of(dataset(spec, i)) for i in range(spec.size)
                if dataset(spec, i).publisher.name == f"Ville de {name}"]  # fmt: skip
        by_metric = {(c["counted_by"], c["metric"]): c["count"] for c in card["audience"]}
        assert by_metric == {
            ("udata", metric): total
            for metric, total in (("views", sum(a.views for a in mine)), ("downloads", sum(a.downloads for a in mine)),
                                  ("followers", sum(a.followers for a in mine)))
            if total
        }  # fmt: skip
        assert all(c["measured_at"] for c in card["audience"])

    national = (await get(http, f"{api}/api/v1/indicators"))["data"][0]["values"]
    assert national["reuses"] >= len(reuses(spec))


async def test_a_reuse_that_arrives_before_its_dataset_counts_once_the_dataset_does(services, settings, http):
    api = services["api"].url
    ploemeur = await commune(http, api, "Ploemeur")
    reuse = ReuseDiscovered(
        producer="test", run_id="early", source_id="early-portal", portal_url="https://early.test",
        remote_id="carte", title="Carte des équipements", type="visualization", url="https://carte.test/",
        datasets=["jeu-1"], created=datetime(2026, 1, 5, tzinfo=UTC),
    )  # fmt: skip
    await produce(settings, "harvest.reuses", reuse.model_dump_json().encode(), key=reuse.key().encode())
    publisher = EventPublisher(name="Commune de Ploemeur", siren=ploemeur["siren"])
    await publish(settings, discovered("jeu-1", publisher, portal_url="https://early.test", source_id="early-portal"))

    async def counted():
        card = await get(http, f"{api}/api/v1/organizations/{ploemeur['id']}")
        return card if card["indicators"].get("reuses") == 1 else None

    card = await wait_for(counted, timeout=60)
    assert [(r["title"], r["type"], r["datasets"]) for r in card["reuses"]] == [
        ("Carte des équipements", "visualization", 1)
    ]
    assert card["indicators"]["reused_share"] == 1.0
