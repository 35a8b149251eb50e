"""The Atom feeds, through the real consolidator: an organisation's and its département's feeds say
which datasets arrived and which were withdrawn after a complete harvest run without them."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import aiohttp
import pytest

from shared.events import HarvestRunFinished, Publisher
from tests.support.api import commune
from tests.support.events import discovered, publish
from tests.support.kafka import produce, wait_for

pytestmark = pytest.mark.integration

ATOM = {"a": "http://www.w3.org/2005/Atom"}
SOURCE = "feeds"


def finished(run_id: str, items: int, started: datetime) -> HarvestRunFinished:
    return HarvestRunFinished(producer="test", run_id=run_id, source_id=SOURCE, status="done", items_seen=items,
                              errors=0, complete=True, mode="full", started_at=started)  # fmt: skip


async def entry_titles(http: aiohttp.ClientSession, url: str) -> list[str] | None:
    async with http.get(url) as response:
        assert response.status == 200, await response.text()
        assert response.content_type == "application/atom+xml"
        feed = ET.fromstring(await response.read())
    return [e.findtext("a:title", namespaces=ATOM) or "" for e in feed.findall("a:entry", ATOM)]


async def test_the_feeds_say_which_datasets_arrived_and_which_were_withdrawn(referentiel, services, settings):
    api = services["api"].url
    async with aiohttp.ClientSession() as http:
        concarneau = await commune(http, api, "concarneau")
        publisher = Publisher(name="Ville de Concarneau", siren=concarneau["siren"])
        first = datetime.now(UTC)
        for remote_id, title in (("cc-1", "Horaires des marées"), ("cc-2", "Plages surveillées")):
            event = discovered(remote_id, publisher, portal_url="https://data.concarneau.test", source_id=SOURCE,
                               title=title)  # fmt: skip
            await publish(settings, event.model_copy(update={"run_id": "feeds-run-1"}))
        run = finished("feeds-run-1", 2, first)
        await produce(settings, run.topic, run.model_dump_json().encode(), key=run.key().encode())
        feed = f"{api}/api/v1/feeds/organizations/{concarneau['id']}.atom"

        arrivals = {"Nouveau jeu de données : Horaires des marées", "Nouveau jeu de données : Plages surveillées"}

        async def arrived() -> list[str] | None:
            titles = await entry_titles(http, feed)
            return titles if titles and arrivals <= set(titles) else None

        await wait_for(arrived, timeout=90)

        # A complete run without "Plages surveillées": withdrawn, first in the feed.
        second = datetime.now(UTC)
        run = finished("feeds-run-2", 1, second)
        await produce(settings, run.topic, run.model_dump_json().encode(), key=run.key().encode())
        event = discovered("cc-1", publisher, portal_url="https://data.concarneau.test", source_id=SOURCE,
                           title="Horaires des marées")  # fmt: skip
        await publish(settings, event.model_copy(update={"run_id": "feeds-run-2"}))

        async def withdrawn() -> list[str] | None:
            titles = await entry_titles(http, feed)
            return titles if titles and "Jeu de données retiré : Plages surveillées" in titles else None

        titles = await wait_for(withdrawn, timeout=90)
        assert titles[0] == "Jeu de données retiré : Plages surveillées"  # the newest first
        assert titles.count("Jeu de données retiré : Plages surveillées") == 1 and arrivals <= set(titles)
        territory = await entry_titles(http, f"{api}/api/v1/feeds/territories/departement/29.atom")
        assert territory is not None and set(titles) <= set(territory)
        async with http.get(f"{api}/api/v1/feeds/organizations/000000000.atom") as missing:
            assert missing.status == 404
