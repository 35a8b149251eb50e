"""The api's read models (indicators.organization_list, indicators.datasets and the words of their
titles, indicators.dataset_words) say what the registry and the indicators say, after a harvest, an
accepted contribution and a withdrawal; their pages by keyset are the pages by number.

The expected rows are computed here apart from the read models' SQL: from the registry's tables and
each organisation's current values as the api's card shows them."""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.events import DatasetDiscovered, Event, HarvestRunFinished, Publisher, Resource
from shared.matching import STOP_WORDS, normalise
from shared.settings import Settings
from tests.integration.test_contributions import decide, moderator, submit  # noqa: F401 (fixture)
from tests.support.contributions import known_to_contributions, organisation
from tests.support.db import connect_as
from tests.support.kafka import produce, wait_for

pytestmark = pytest.mark.integration

SOURCE = "read-models"
LISTED = ("siren", "name", "search_name", "type", "insee_code", "departement", "region", "epci", "population",
          "obligated", "council_id", "datasets", "publishes", "technologies")  # fmt: skip
DATASET_COLUMNS = ("title", "organization_id", "withdrawn", "licence", "formats", "schemas", "modified")
WORD_COLUMNS = ("title", "licence", "formats", "schemas", "modified")
Rows = dict[str, dict[str, Any]]  # by id
# The registry keeps a dataset's state only (migration 014): its listed columns, read out of it here.
REGISTRY_DATASETS = """
    SELECT id, state->>'title' AS title, organization_id, withdrawn, state->>'licence' AS licence,
           ARRAY(SELECT DISTINCT r->>'format' FROM json_array_elements(state->'resources') r
                 WHERE r->>'format' <> '' ORDER BY 1) AS formats,
           ARRAY(SELECT DISTINCT r->'schema'->>'name' FROM json_array_elements(state->'resources') r
                 WHERE r->'schema'->>'name' <> '' ORDER BY 1) AS schemas,
           (state->>'modified')::timestamptz AS modified
    FROM registry.datasets"""


async def registry_and_indicators(settings: Settings) -> tuple[Rows, Rows, set[str]]:
    """Every active organisation with the values the lists show, and every dataset's listed columns,
    as the registry and the indicators hold them; and every organisation id the registry holds."""
    conn = await connect_as(settings)  # the admin: the owners' tables
    try:
        rows = await conn.fetch(
            """SELECT o.*, v."values" FROM registry.organizations o
               LEFT JOIN indicators.current_values v ON v.scope = 'organization' AND v.scope_id = o.id
               WHERE o.status = 'active'"""
        )
        datasets = await conn.fetch(REGISTRY_DATASETS)
        held = {r["id"] for r in await conn.fetch("SELECT id FROM registry.organizations")}
    finally:
        await conn.close()
    organizations = {}
    for row in rows:
        values = json.loads(row["values"]) if row["values"] else {}
        organizations[row["id"]] = {
            **{column: row[column] for column in LISTED[:-3] if column != "search_name"},
            "search_name": normalise(row["name"]),
            "datasets": values.get("datasets", 0),
            "publishes": values.get("publishes") == 1,
            "technologies": sorted(k.split(":", 1)[1] for k in values if k.startswith("technology:")),
        }
    return organizations, {d["id"]: dict(d) for d in datasets}, held


async def read_models(settings: Settings) -> tuple[Rows, Rows]:
    """The read models' rows, as the api reads them (its views); each dataset with the words its title
    is listed under (`words`)."""
    conn = await connect_as(settings, "api")
    try:
        rows = await conn.fetch(f"SELECT id, {', '.join(LISTED)} FROM indicators_read.organization_list")
        datasets = await conn.fetch(f"SELECT id, {', '.join(DATASET_COLUMNS)} FROM indicators_read.datasets")
        words = await conn.fetch(f"SELECT id, word, {', '.join(WORD_COLUMNS)} FROM indicators_read.dataset_words")
    finally:
        await conn.close()
    listed = {r["id"]: {**dict(r), "technologies": list(r["technologies"])} for r in rows}
    projected = {d["id"]: {**dict(d), "formats": list(d["formats"]), "schemas": list(d["schemas"]), "words": set()}
                 for d in datasets}  # fmt: skip
    for w in words:  # each word's row carries the dataset's listed columns: they must be the dataset's
        dataset = projected[w["id"]]
        same = all((list(w[c]) if c in ("formats", "schemas") else w[c]) == dataset[c] for c in WORD_COLUMNS)
        dataset["words"].add(w["word"] if same else f"{w['word']} (columns differ)")
    return listed, projected


def listed_words(dataset: dict[str, Any]) -> set[str]:
    """The words a dataset is found by: each word of its title but the stop words, lower case and without
    accents, once a live dataset; none when withdrawn (the list's search reads live datasets only)."""
    return set() if dataset["withdrawn"] else set(normalise(dataset["title"]).split()) - STOP_WORDS


async def agree(settings: Settings, arrived: Callable[[Rows, Rows], bool] = lambda *_: True) -> tuple[Rows, Rows]:
    """Wait until what the registry and indicators say shows the change (`arrived`) and the read models
    say the same; the organisations and datasets as they then are. Fails with the first rows that
    differ."""
    differences: list[Any] = []

    async def same() -> tuple[Rows, Rows] | None:
        (organizations, datasets, held), (listed, projected) = (
            await registry_and_indicators(settings),
            await read_models(settings),
        )
        # Datasets the indicators' tests write by hand on the registry's topic, for organisations the
        # registry does not hold (see tests/integration/test_indicators.py), are not the registry's.
        projected = {i: d for i, d in projected.items() if d["organization_id"] is None or d["organization_id"] in held}
        for row in projected.values():
            row.pop("id")
        for row in listed.values():
            row.pop("id")
        expected_datasets = {i: {**d, "formats": list(d["formats"]), "schemas": list(d["schemas"]),
                                 "words": listed_words(d)} for i, d in datasets.items()}  # fmt: skip
        for d in expected_datasets.values():
            d.pop("id")
        if not arrived(organizations, expected_datasets):
            differences[:] = ["the change has not reached the registry and indicators yet"]
            return None
        differences[:] = [
            *((i, organizations.get(i), listed.get(i)) for i in organizations.keys() | listed.keys()
              if organizations.get(i) != listed.get(i)),
            *((i, expected_datasets.get(i), projected.get(i)) for i in expected_datasets.keys() | projected.keys()
              if expected_datasets.get(i) != projected.get(i)),
        ][:3]  # fmt: skip
        return None if differences else (organizations, datasets)

    try:
        result: tuple[Rows, Rows] = await wait_for(same, timeout=120)
    except AssertionError:  # wait_for's timeout
        pytest.fail(f"the read models differ from the registry and indicators: {differences}")
    return result


def harvested(remote_id: str, run_id: str, siren: str, title: str, fmt: str) -> DatasetDiscovered:
    return DatasetDiscovered(
        producer="test",
        run_id=run_id,
        source_id=SOURCE,
        portal_kind="ckan",
        portal_url="http://read-models.test",
        remote_id=remote_id,
        publisher=Publisher(name="Ville de Quimperlé", siren=siren),
        title=title,
        licence="etalab-2.0",
        resources=[Resource(url=f"http://read-models.test/{remote_id}.{fmt}", format=fmt)],
        modified=datetime(2026, 11, 2, tzinfo=UTC),
        content_hash=f"{remote_id}|{title}|{fmt}",
    )


def finished(run_id: str, items: int, started_at: datetime) -> HarvestRunFinished:
    """The end of a complete run started at `started_at`: before its records were seen (what it did not
    see again is withdrawn)."""
    return HarvestRunFinished(producer="test", run_id=run_id, source_id=SOURCE, status="done", items_seen=items,
                              errors=0, complete=True, mode="full", started_at=started_at)  # fmt: skip


async def send(settings: Settings, *events: Event) -> None:
    for event in events:
        await produce(settings, event.topic, event.model_dump_json().encode(), key=event.key().encode())


async def test_the_read_models_say_what_the_registry_and_indicators_say(
    referentiel,
    services,
    settings: Settings,
    http,
    moderator,  # noqa: F811
) -> None:
    api = services["api"].url
    await agree(settings)  # the référentiel alone

    # A harvest: three datasets of Quimperlé.
    commune = await organisation(http, api, "Quimperlé")
    titles = {"q1": "Budget primitif 2026", "q2": "Arbres d'alignement", "q3": "Élections municipales"}
    formats = {"q1": "csv", "q2": "geojson", "q3": "csv"}
    started = datetime.now(UTC)
    await send(settings, *(harvested(r, "rm-1", commune["siren"], t, formats[r]) for r, t in titles.items()),
               finished("rm-1", 3, started))  # fmt: skip
    organizations, datasets = await agree(settings, lambda o, _: o[commune["id"]]["datasets"] == 3)
    assert organizations[commune["id"]]["publishes"] is True
    assert organizations[commune["id"]]["technologies"] == ["ckan"]
    assert sorted(d["title"] for d in datasets.values() if d["organization_id"] == commune["id"]) == sorted(
        titles.values()
    )

    # An accepted contribution: fewer than 50 agents, so no longer obliged to publish.
    await known_to_contributions(settings, commune["id"])
    few = await submit(http, api, {"organization_id": commune["id"], "field": "agents", "value": 12})
    await decide(http, api, few["id"], "accept", moderator)
    organizations, _ = await agree(settings, lambda o, _: o[commune["id"]]["obligated"] is False)

    # A withdrawal: the next complete run no longer lists q2.
    started = datetime.now(UTC)
    again = [harvested(r, "rm-2", commune["siren"], titles[r], "csv") for r in ("q1", "q3")]
    await send(settings, *again, finished("rm-2", 2, started))
    organizations, datasets = await agree(settings, lambda o, _: o[commune["id"]]["datasets"] == 2)
    mine = {d["title"]: d["withdrawn"] for d in datasets.values() if d["organization_id"] == commune["id"]}
    assert mine == {titles["q1"]: False, titles["q2"]: True, titles["q3"]: False}

    # What the api answers from them.
    async with http.get(f"{api}/api/v1/organizations", params={"q": "quimperle", "type": "COM"}) as response:
        listed = (await response.json())["data"]
    assert [(o["id"], o["datasets"], o["obligated"]) for o in listed] == [(commune["id"], 2, False)]
    async with http.get(f"{api}/api/v1/organizations/{commune['id']}/datasets") as response:
        page = await response.json()
    assert [d["title"] for d in page["data"]] == [titles["q1"], titles["q3"]] and page["total"] == 2
    async with http.get(f"{api}/api/v1/datasets", params={"organization": commune["id"], "format": "geojson",
                                                          "withdrawn": "true"}) as response:  # fmt: skip
        assert [d["title"] for d in (await response.json())["data"]] == [titles["q2"]]
    # Searched by the beginnings of the words of the titles, whatever their accents and case.
    for q, found in (("ELECT munic", [titles["q3"]]), ("budg", [titles["q1"]]), ("arbres", []), ("udget", [])):
        async with http.get(f"{api}/api/v1/datasets", params={"organization": commune["id"], "q": q}) as response:
            answer = await response.json()
        assert ([d["title"] for d in answer["data"]], answer["total"]) == (found, len(found)), q

    # Back as it was for the other tests of the session: obliged, publishing nothing.
    many = await submit(http, api, {"organization_id": commune["id"], "field": "agents", "value": 900})
    await decide(http, api, many["id"], "accept", moderator)
    await send(settings, finished("rm-3", 0, datetime.now(UTC)))
    await agree(settings, lambda o, _: o[commune["id"]]["datasets"] == 0 and o[commune["id"]]["obligated"] is True)


@pytest.mark.parametrize("sort", ["name", "-name", "population", "-population", "datasets", "-datasets", "type"])
async def test_pages_by_keyset_are_the_pages_by_number(referentiel, services, http, sort: str) -> None:
    api = services["api"].url
    selection = {"departement": "29", "sort": sort, "page_size": "40"}
    by_number, page = [], 1
    while True:
        async with http.get(f"{api}/api/v1/organizations", params={**selection, "page": str(page)}) as response:
            body = await response.json()
        by_number += [o["id"] for o in body["data"]]
        if not body["next_page"]:
            break
        page += 1
    by_keyset, after = [], None
    while True:
        params = {**selection, **({"after": after} if after else {})}
        async with http.get(f"{api}/api/v1/organizations", params=params) as response:
            body = await response.json()
        assert response.status == 200, body
        by_keyset += [o["id"] for o in body["data"]]
        after = body["next_after"]
        if not after:
            break
    assert len(by_number) == body["total"] > 200  # the Finistère's communes, EPCI, département
    assert by_keyset == by_number
