"""The whole chain on the real broker and database: simulated udata portal -> harvester ->
consolidator -> indicators -> api."""

import json

import aiohttp
import pytest

from services.harvester.repository import Source, add_source
from shared.events import HarvestRequested, HarvestRunFinished, Publisher
from shared.identifiers import siren_from, with_luhn_digit
from simulated_portals.catalogue import dataset
from tests.conftest import THIN_PORTAL
from tests.support.db import connect_as
from tests.support.events import discovered
from tests.support.kafka import produce, produce_many, read_all, wait_for

pytestmark = pytest.mark.integration


async def organization_card(http: aiohttp.ClientSession, api_url: str, org_id: str) -> dict | None:
    async with http.get(f"{api_url}/api/v1/organizations/{org_id}") as response:
        return await response.json() if response.status == 200 else None


async def test_a_harvest_reaches_the_api_through_every_service(services, portal, settings, http):
    conn = await connect_as(settings, "harvester")
    await add_source(
        conn, Source(id="udata-test", url=f"{portal}{THIN_PORTAL.path}", family="udata", name="udata simulé")
    )
    await conn.close()

    await produce(
        settings,
        "harvest.commands",
        HarvestRequested(producer="test", source_id="udata-test").model_dump_json().encode(),
        key=b"udata-test",
    )

    api = services["api"].url
    for publisher in THIN_PORTAL.publishers:
        siren = siren_from(publisher.siret)
        if siren is None:
            continue
        expected = sum(1 for i in range(THIN_PORTAL.size) if dataset(THIN_PORTAL, i).publisher is publisher)
        card = await wait_for(
            lambda siren=siren, expected=expected: _card_with_count(http, api, siren, expected), timeout=60
        )
        assert card["id"] == siren
        assert card["indicators"]["publishes"] == 1

    runs = [json.loads(r.value) for r in await read_all(settings, "harvest.runs")]
    finished = [
        HarvestRunFinished.model_validate(r)
        for r in runs
        if r["event_type"] == "HarvestRunFinished" and r["source_id"] == "udata-test"
    ]
    assert [(f.status, f.items_seen, f.complete) for f in finished] == [("done", THIN_PORTAL.size, True)]

    # The publisher without a SIRET is kept as unmatched, with each of its datasets.
    conn = await connect_as(settings)
    unmatched = await conn.fetch(
        "SELECT name, sightings FROM registry.unmatched_publishers WHERE portal_url = $1", f"{portal}{THIN_PORTAL.path}"
    )
    await conn.close()
    assert [(r["name"], r["sightings"]) for r in unmatched] == [("Association des amis du patrimoine", 7)]


async def _card_with_count(http, api, siren, expected):
    card = await organization_card(http, api, siren)
    if card and card["indicators"].get("datasets") == expected:
        return card
    return None


async def test_the_same_event_delivered_twice_is_applied_once(services, settings, http):
    event = discovered("dup-1", Publisher(name="Syndicat des eaux du Lac", remote_id="org-dup"))

    consumer = 'consumer="consolidator.harvest.datasets"'
    lines = {
        "duplicates": f"obs_events_duplicate_total{{{consumer}}}",
        "handled": f'obs_events_consumed_total{{{consumer},outcome="handled",topic="harvest.datasets"}}',
        "recognised": f'obs_events_consumed_total{{{consumer},outcome="duplicate",topic="harvest.datasets"}}',
    }

    async def counters() -> dict[str, float]:
        async with http.get(f"{services['consolidator'].url}/metrics") as response:
            text = await response.text()
        found = {x.rsplit(" ", 1)[0]: float(x.rsplit(" ", 1)[1]) for x in text.splitlines() if not x.startswith("#")}
        return {name: found.get(line, 0.0) for name, line in lines.items()}

    before = await counters()  # other tests may have delivered duplicates already
    for _ in range(2):
        await produce(settings, "harvest.datasets", event.model_dump_json().encode(), key=event.key().encode())

    async def handled_twice():
        return (await counters())["duplicates"] >= before["duplicates"] + 1

    await wait_for(handled_twice)
    after = await counters()  # the dashboards' events consumed: handled once, recognised once
    assert after["handled"] >= before["handled"] + 1 and after["recognised"] >= before["recognised"] + 1
    conn = await connect_as(settings)
    sightings = await conn.fetchval(
        "SELECT sightings FROM registry.unmatched_publishers WHERE name = 'Syndicat des eaux du Lac'"
    )
    # No inbox row per dataset: the record's sighting recognised the copy (issue 34).
    seen = await conn.fetchrow("SELECT seen_at, last_run_id FROM registry.dataset_sources WHERE remote_id = 'dup-1'")
    inbox = await conn.fetchval("SELECT count(*) FROM registry.inbox WHERE event_id = $1", event.event_id)
    await conn.close()
    assert (sightings, inbox) == (1, 0)
    assert (seen["seen_at"], seen["last_run_id"]) == (event.occurred_at, event.run_id)
    changes = [json.loads(r.value) for r in await read_all(settings, "registry.datasets")]
    assert (
        sum(
            1
            for c in changes
            if c["dataset"]["title"] == event.title and c["dataset"]["sources"][0]["remote_id"] == "dup-1"
        )
        == 1
    )


@pytest.mark.parametrize(
    "poison",
    [
        b"{not json",
        json.dumps({"event_type": "DatasetDiscovered", "schema_version": 99, "producer": "x"}).encode(),
    ],
)
async def test_a_poison_message_goes_to_the_dlq_and_the_next_one_is_processed(services, settings, http, poison):
    before = len(await read_all(settings, "harvest.datasets.dlq", idle_ms=500))
    await produce(settings, "harvest.datasets", poison, key=b"direct:poison")
    siren = with_luhn_digit(f"2135{len(poison):04d}")
    healthy = discovered(f"after-poison-{len(poison)}", Publisher(name="Commune de Poisonville", siren=siren))
    await produce(settings, "harvest.datasets", healthy.model_dump_json().encode(), key=healthy.key().encode())

    await wait_for(lambda: organization_card(http, services["api"].url, siren), timeout=120)
    dead = await read_all(settings, "harvest.datasets.dlq", idle_ms=500)
    assert len(dead) == before + 1
    record = dead[-1]
    headers = {k: v.decode() for k, v in record.headers}
    assert record.value == poison
    assert headers["x-source-topic"] == settings.topic("harvest.datasets")
    assert headers["x-error-type"]
    assert headers["x-consumer-group"] == settings.group("consolidator", "harvest.datasets")


async def test_an_event_the_registry_cannot_store_is_dead_lettered_alone_and_its_batch_applied(
    services, settings, http
):
    before = len(await read_all(settings, "harvest.datasets.dlq", idle_ms=500))
    sirens = [with_luhn_digit(f"9988771{n}") for n in range(4)]  # no organisation has them yet: new cards
    events = [
        discovered(f"nul-batch-{n}", Publisher(name=f"Commune de Nulville {n}", siren=siren))
        for n, siren in enumerate(sirens)
    ]
    # Valid for the contract, but PostgreSQL's text refuses a NUL character: its batch's transaction fails.
    events.insert(2, discovered("nul-batch-poison", Publisher(name="Commune de Nulville"), title="Titre\x00nul"))
    # One key: one partition and one record batch, which the consolidator reads as one batch.
    await produce_many(settings, "harvest.datasets", [(b"nul-batch", e.model_dump_json().encode()) for e in events])

    # The events after the poison one are applied once it is dead-lettered: then every card is there.
    for siren in sirens:
        assert await wait_for(lambda siren=siren: organization_card(http, services["api"].url, siren), timeout=120)
    dead = (await read_all(settings, "harvest.datasets.dlq", idle_ms=500))[before:]
    assert [json.loads(record.value)["remote_id"] for record in dead] == ["nul-batch-poison"]
    headers = {k: v.decode() for k, v in dead[0].headers}
    assert (headers["x-error-type"], headers["x-attempts"]) == ("CharacterNotInRepertoireError", "3")
