"""The public API beyond the registry lists: datasets with their sources, streamed exports that hold
exactly the filtered rows, the map's GeoJSON, HTTP caching and compression, the OpenAPI document."""

import asyncio
import csv
import io
import json
import socket
import time
from datetime import UTC, datetime

import aiohttp
import pytest

from shared.events import DatasetDiscovered, Publisher, Resource, ResourceSchema
from tests.support.events import discovered, publish
from tests.support.kafka import wait_for

pytestmark = pytest.mark.integration


async def get(http, url, status=200, **kwargs):
    async with http.get(url, **kwargs) as response:
        assert response.status == status, await response.text()
        return await response.json()


async def text(http, url, **kwargs) -> tuple[str, dict]:
    async with http.get(url, **kwargs) as response:
        assert response.status == 200, await response.text()
        return await response.text(encoding="utf-8"), dict(response.headers)


def dataset(remote_id: str, publisher: Publisher, fmt: str, title: str, schema: str | None = None) -> DatasetDiscovered:
    event = discovered(remote_id, publisher, portal_url="https://data.ploermel.test", source_id="api-test", title=title)
    resource = Resource(url=f"https://files.test/{remote_id}.{fmt}", format=fmt,
                        schema=ResourceSchema(name=schema) if schema else None)  # fmt: skip
    return event.model_copy(update={"resources": [resource], "licence": "licence-ouverte",
                                    "modified": datetime(2026, 9, 1, tzinfo=UTC)})  # fmt: skip


@pytest.fixture(scope="module")
async def ploermel(referentiel, services, settings):
    """A commune with three datasets, consolidated."""
    import aiohttp

    api = services["api"].url
    async with aiohttp.ClientSession() as http:
        commune = (await get(http, f"{api}/api/v1/organizations?q=ploermel&type=COM"))["data"][0]
        publisher = Publisher(name="Commune de Ploërmel", siren=commune["siren"])
        for event in (
            dataset("pl-1", publisher, "csv", "Budget primitif 2026", schema="scdl/budget"),
            dataset("pl-2", publisher, "pdf", "Compte rendu du conseil municipal"),
            dataset("pl-3", publisher, "geojson", "Pistes cyclables"),
        ):
            await publish(settings, event)

        async def consolidated():
            body = await get(http, f"{api}/api/v1/organizations/{commune['id']}/datasets")
            return body if body["total"] == 3 else None

        await wait_for(consolidated, timeout=60)
    return commune


async def test_datasets_are_listed_with_their_sources_and_filters(ploermel, services, http):
    api = services["api"].url
    listed = await get(http, f"{api}/api/v1/datasets", params={"organization": ploermel["siren"]})
    assert listed["total"] == 3
    assert {d["title"] for d in listed["data"]} == {"Budget primitif 2026", "Compte rendu du conseil municipal",
                                                   "Pistes cyclables"}  # fmt: skip
    assert all(d["sources"][0]["portal_url"] == "https://data.ploermel.test" for d in listed["data"])
    by_format = await get(http, f"{api}/api/v1/datasets", params={"organization": ploermel["id"], "format": "csv"})
    assert [d["title"] for d in by_format["data"]] == ["Budget primitif 2026"]
    by_schema = await get(
        http, f"{api}/api/v1/datasets", params={"schema": "scdl/budget", "organization": ploermel["id"]}
    )
    assert by_schema["total"] == 1
    searched = await get(http, f"{api}/api/v1/datasets", params={"q": "cyclables", "organization": ploermel["id"]})
    assert [d["title"] for d in searched["data"]] == ["Pistes cyclables"]
    later = await get(
        http, f"{api}/api/v1/datasets", params={"organization": ploermel["id"], "modified_since": "2026-10-01"}
    )
    assert later["total"] == 0
    bad = await get(http, f"{api}/api/v1/datasets", status=400, params={"modified_since": "hier"})
    assert "modified_since" in bad["error"]["message"]
    await get(http, f"{api}/api/v1/organizations/000000000/datasets", status=404)


async def test_a_csv_export_holds_exactly_the_filtered_rows(referentiel, services, http):
    api = services["api"].url
    body, headers = await text(http, f"{api}/api/v1/exports/organizations.csv", params={"type": "DEP", "region": "53"})
    assert headers["Content-Type"].startswith("text/csv")
    assert 'filename="observatoire-organizations.csv"' in headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))
    assert sorted(r["insee_code"] for r in rows) == ["22", "29", "35", "56"]
    assert {r["type"] for r in rows} == {"DEP"} and all(r["name"] for r in rows)

    listed = await get(http, f"{api}/api/v1/organizations", params={"type": "COM", "departement": "56", "page_size": 1})
    body, _ = await text(http, f"{api}/api/v1/exports/organizations.csv",
                         params={"type": "COM", "departement": "56", "sep": ";"})  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff")), delimiter=";"))
    assert len(rows) == listed["total"] > 200  # beyond one page and one cursor batch: streamed whole
    assert len({r["id"] for r in rows}) == len(rows)


async def test_a_search_puts_the_place_people_mean_first(referentiel, services, http):
    api = services["api"].url

    async def found(q: str, **params: str) -> list[dict]:
        data: list[dict] = (await get(http, f"{api}/api/v1/organizations", params={"q": q, **params}))["data"]
        return data

    rennes = await found("Rennes")
    assert (rennes[0]["name"], rennes[0]["type"], rennes[0]["departement"]) == ("Rennes", "COM", "35")
    names = [o["name"].lower() for o in rennes]
    starting = [n for n in names if n.startswith("rennes")]
    assert len(starting) >= 3 and names[: len(starting)] == starting  # Rennes-le-Château before Varennes
    assert any("varennes" in n for n in names)
    assert (await found("Rennes", sort="name"))[0]["name"] != "Rennes"  # another order when asked

    in_35 = await found("Rennes 35")
    assert in_35[0]["id"] == rennes[0]["id"] and {o["departement"] for o in in_35} == {"35"}
    saint_denis = (await found("Saint Denis 93"))[0]
    assert (saint_denis["name"], saint_denis["departement"]) == ("Saint-Denis", "93")
    for code in (rennes[0]["siren"], rennes[0]["insee_code"]):
        assert (await found(code))[0]["id"] == rennes[0]["id"]
    exported, _ = await text(http, f"{api}/api/v1/exports/organizations.csv", params={"q": "Rennes"})
    assert next(csv.DictReader(io.StringIO(exported.removeprefix("\ufeff"))))["id"] == rennes[0]["id"]


async def test_json_and_geojson_exports_match_the_list(referentiel, services, http):
    api = services["api"].url
    params = {"type": "REG"}
    listed = await get(http, f"{api}/api/v1/organizations", params={**params, "page_size": 200})
    exported = json.loads((await text(http, f"{api}/api/v1/exports/organizations.json", params=params))[0])
    assert sorted(o["id"] for o in exported) == sorted(o["id"] for o in listed["data"])
    geo = json.loads((await text(http, f"{api}/api/v1/exports/organizations.geojson", params=params))[0])
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == 18  # every région has a place
    lon, lat = next(f for f in geo["features"] if f["properties"]["region"] == "53")["geometry"]["coordinates"]
    assert -5.5 < lon < -1 and 47 < lat < 49  # Bretagne
    bad = await get(http, f"{api}/api/v1/exports/datasets.geojson", status=400)
    assert "GeoJSON" in bad["error"]["message"]


async def test_dataset_and_indicator_exports(ploermel, services, http):
    api = services["api"].url
    body, _ = await text(http, f"{api}/api/v1/exports/datasets.csv", params={"organization": ploermel["id"]})
    rows = list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))
    assert sorted(r["formats"] for r in rows) == ["csv", "geojson", "pdf"]
    assert {r["portals"] for r in rows} == {"https://data.ploermel.test"}
    await get(http, f"{api}/api/v1/exports/datasets.csv", status=400, params={"organization": "000000000"})
    body, _ = await text(http, f"{api}/api/v1/exports/indicators.csv", params={"scope": "region"})
    rows = list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))
    assert {r["scope"] for r in rows} == {"region"} and "53" in {r["id"] for r in rows}


async def test_the_map_places_communes_and_colours_areas(referentiel, services, http):
    api = services["api"].url
    points = await get(http, f"{api}/api/v1/map/organizations.geojson", params={"type": "COM", "departement": "29"})
    listed = await get(http, f"{api}/api/v1/organizations", params={"type": "COM", "departement": "29", "page_size": 1})
    assert len(points["features"]) + points["unplaced"] == listed["total"]
    assert points["unplaced"] == 0
    brest = next(f for f in points["features"] if f["properties"]["name"] == "Brest")
    assert brest["properties"]["publishes"] in (True, False) and brest["geometry"]["type"] == "Point"
    columns = await get(http, f"{api}/api/v1/map/organizations.json", params={"type": "COM", "departement": "29"})
    names = ("id", "name", "lon", "lat", "publishes")
    as_columns = {values[0]: values[1:] for values in zip(*(columns[n] for n in names), strict=True)}
    as_features = {f["properties"]["id"]: (f["properties"]["name"], *f["geometry"]["coordinates"],
                                           f["properties"]["publishes"]) for f in points["features"]}  # fmt: skip
    assert as_columns == as_features
    assert columns["unplaced"] == points["unplaced"]
    departements = await get(http, f"{api}/api/v1/map/departements.geojson", params={"indicator": "population"})
    assert len(departements["features"]) == 101 + 6  # and the six overseas collectivités, 975 to 988
    finistere = next(f for f in departements["features"] if f["properties"]["code"] == "29")
    assert finistere["properties"]["indicator"] == "population" and finistere["properties"]["value"] > 900_000
    regions = await get(http, f"{api}/api/v1/map/regions.geojson")
    assert len(regions["features"]) == 18 + 6 and regions["features"][0]["properties"]["indicator"] == "opening_rate"
    polynesie = next(f for f in regions["features"] if f["properties"]["code"] == "987")
    assert polynesie["properties"]["nom"] == "Polynésie française" and "value" in polynesie["properties"]


async def test_answers_carry_an_etag_and_are_compressed(referentiel, services, http):
    url = f"{services['api'].url}/api/v1/organizations?type=DEP&page_size=200&unique={time.time_ns()}"
    async with http.get(url, headers={"Accept-Encoding": "gzip"}) as response:
        assert response.status == 200 and response.headers["X-Cache"] == "miss"  # computed for this request
        etag = response.headers["ETag"]
        assert response.headers["Content-Encoding"] == "gzip"
        assert "max-age" in response.headers["Cache-Control"]
    async with http.get(url, headers={"If-None-Match": etag}) as response:
        assert response.status == 304 and response.headers["ETag"] == etag
        assert response.headers["X-Cache"] == "hit"  # within the micro-cache's two seconds


async def test_stats_group_the_selection(referentiel, services, http):
    api = services["api"].url
    by_type = await get(http, f"{api}/api/v1/organizations/stats", params={"by": "type", "region": "53"})
    groups = {g["key"]: g for g in by_type["data"]}
    assert groups["DEP"]["organizations"] == 4 and groups["REG"]["organizations"] == 1
    by_region = await get(http, f"{api}/api/v1/organizations/stats", params={"by": "region", "type": "DEP"})
    bretagne = next(g for g in by_region["data"] if g["key"] == "53")
    assert bretagne["label"] == "Bretagne" and bretagne["organizations"] == 4
    communes = await get(http, f"{api}/api/v1/organizations/stats", params={"by": "region", "type": "COM"})
    labels = {g["key"]: g["label"] for g in communes["data"]}
    assert labels["987"] == "Polynésie française" and labels["53"] == "Bretagne"
    assert [key for key, label in labels.items() if not label] == []
    by_departement = await get(http, f"{api}/api/v1/organizations/stats", params={"by": "departement", "type": "COM"})
    assert {g["key"]: g["label"] for g in by_departement["data"]}["975"] == "Saint-Pierre-et-Miquelon"
    bins = await get(http, f"{api}/api/v1/organizations/stats", params={"by": "population_bin", "type": "REG"})
    assert sum(g["organizations"] for g in bins["data"]) == 18


async def test_the_card_lists_the_portals_and_the_history_of_the_organisation(referentiel, services, settings, http):
    api = services["api"].url
    commune = (await get(http, f"{api}/api/v1/organizations", params={"q": "josselin", "type": "COM"}))["data"][0]
    publisher = Publisher(name="Josselin", siren=commune["siren"])
    for remote_id, portal, source_id in (("jo-1", "https://data.josselin.test", "card-josselin"),
                                         ("jo-2", "https://data.josselin.test", "card-josselin"),
                                         ("jo-3", "https://data.morbihan.test", "card-morbihan")):  # fmt: skip
        await publish(settings, discovered(remote_id, publisher, portal_url=portal, source_id=source_id))

    async def counted():
        card = await get(http, f"{api}/api/v1/organizations/{commune['siren']}")
        return card if card["indicators"].get("datasets") == 3 else None

    card = await wait_for(counted, timeout=60)
    assert card["portals"] == [
        {"url": "https://data.josselin.test", "kind": "udata", "datasets": 2},
        {"url": "https://data.morbihan.test", "kind": "udata", "datasets": 1},
    ]
    # Its history: today's snapshot holds the values the card shows; editions are by year.
    today = card["history"]["daily"][-1]
    assert today["at"] == card["indicators_computed_at"][:10]
    assert today["values"]["datasets"] == 3 and today["values"]["platforms"] == 2
    assert all(len(edition["at"]) == 4 and edition["at"].isdigit() for edition in card["history"]["editions"])


async def test_the_openapi_document_lists_every_public_path(services, http):
    document = await get(http, f"{services['api'].url}/api/openapi.json")
    assert document["openapi"].startswith("3.")
    for path in ("/api/v1/organizations", "/api/v1/datasets", "/api/v1/map/{level}.geojson",
                 "/api/v1/exports/{what}.{format}", "/api/v1/indicators/history", "/api/v1/platforms"):  # fmt: skip
        assert path in document["paths"]


def small_receive_buffer(addr_info) -> socket.socket:
    """A client socket with a 4 kB receive buffer: the server feels a slow reader at once."""
    family, kind, proto, _, _ = addr_info
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return sock


async def test_slow_downloads_never_take_the_lists_and_cards_connections(referentiel, services, settings, http):
    """Ten clients read the organisations' export at 1 kB/s (more than the database connections of the
    api's pool could serve if each held one); lists and cards, each computed (a new query each time,
    no cache), keep answering within seconds. Downloads beyond the exports' own connections wait a
    few seconds for one, then are told to come back (503 with Retry-After), never left waiting."""
    api = services["api"].url
    statuses: list[int] = []
    reading = asyncio.Event()

    async def slow_download() -> None:
        connector = aiohttp.TCPConnector(socket_factory=small_receive_buffer, force_close=True)
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.get(f"{api}/api/v1/exports/organizations.csv") as response,
        ):
            statuses.append(response.status)
            reading.set()
            for _ in range(3600 if response.status == 200 else 0):  # 1 kB a second, an hour at most
                if not await response.content.read(1024):
                    break
                await asyncio.sleep(1)

    downloads = [asyncio.create_task(slow_download()) for _ in range(10)]
    try:
        await asyncio.wait_for(reading.wait(), 30)
        await asyncio.sleep(settings.export_wait_seconds + 1)  # those beyond the budget have had their answer
        started = time.monotonic()
        for n in range(12):
            await get(http, f"{api}/api/v1/organizations", params={"q": f"saint {n}", "page_size": 5})
            await get(http, f"{api}/api/v1/organizations/DEP-{n + 1:02d}")
        elapsed = time.monotonic() - started
    finally:
        for task in downloads:
            task.cancel()
        await asyncio.gather(*downloads, return_exceptions=True)
    # 24 computed answers: 0.5 s measured; 12.8 s when the downloads took the lists' connections.
    assert elapsed < 5, elapsed
    # Each download got its file or, past the exports' connections and a short wait, a clear "come back".
    assert set(statuses) <= {200, 503} and 200 in statuses
