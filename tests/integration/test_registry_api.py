"""The registry through the public API: lists and filters, cards by any id, matching, unmatched
publishers, and what harvested publishers teach the registry (SIRENs, bodies outside the référentiel)."""

import csv
import json
from functools import partial

import pytest

from services.consolidator.referentiel import PREDECESSORS
from shared.events import Publisher
from shared.identifiers import with_luhn_digit
from shared.settings import Settings
from tests.support.events import discovered, publish
from tests.support.kafka import wait_for

pytestmark = pytest.mark.integration


async def get(http, url, status=200):
    async with http.get(url) as response:
        assert response.status == status, await response.text()
        return await response.json()


async def test_organisations_are_listed_with_filters_and_pages(referentiel, services, http):
    api = services["api"].url
    bretagne = await get(http, f"{api}/api/v1/organizations?type=DEP&region=53")
    assert bretagne["total"] == 4
    assert sorted(o["insee_code"] for o in bretagne["data"]) == ["22", "29", "35", "56"]

    regions = await get(http, f"{api}/api/v1/organizations?type=REG&obligated=true&page_size=5&sort=-population")
    assert regions["total"] == 18 and len(regions["data"]) == 5 and regions["next_page"]
    assert regions["data"][0]["name"] == "Île-de-France"
    second = await get(http, regions["next_page"])
    assert second["page"] == 2 and {o["id"] for o in second["data"]}.isdisjoint(o["id"] for o in regions["data"])

    found = await get(http, f"{api}/api/v1/organizations?q=ploermel&type=COM")
    assert [o["name"] for o in found["data"]] == ["Ploërmel"]


@pytest.mark.parametrize("query", ["page_size=1000", "page=0", "type=XYZ", "obligated=peut-etre", "sort=rank"])
async def test_bad_parameters_get_a_clear_json_error(referentiel, services, http, query):
    body = await get(http, f"{services['api'].url}/api/v1/organizations?{query}", status=400)
    assert body["error"]["status"] == 400 and body["error"]["message"]


async def test_a_card_answers_for_every_id_an_organisation_is_known_by(referentiel, services, http):
    api = services["api"].url
    by_cog = await get(http, f"{api}/api/v1/organizations/DEP-29")
    assert (by_cog["name"], by_cog["type"], by_cog["region"]) == ("Finistère", "DEP", "53")
    assert by_cog["obligation"]["method"] == "population_only"
    assert (await get(http, f"{api}/api/v1/organizations/insee-dep:29"))["id"] == "DEP-29"
    brest = await get(http, f"{api}/api/v1/organizations/insee-com:29019")
    assert (await get(http, f"{api}/api/v1/organizations/{brest['siren']}"))["name"] == "Brest"
    await get(http, f"{api}/api/v1/organizations/999999999", status=404)


async def test_match_gives_the_best_candidate_or_the_homonyms(referentiel, services, http):
    api = services["api"].url
    body = await get(http, f"{api}/api/v1/organizations/match?name=Conseil%20d%C3%A9partemental%20du%20Finist%C3%A8re")
    assert body["best"]["organization_id"] == "DEP-29" and body["best"]["confidence"] >= 0.85
    homonyms = await get(http, f"{api}/api/v1/organizations/match?name=Commune%20de%20Saint-Denis")
    assert homonyms["best"] is None and len(homonyms["candidates"]) > 1
    decided = await get(http, f"{api}/api/v1/organizations/match?name=Commune%20de%20Saint-Denis&departement=974")
    assert decided["best"]["departement"] == "974"
    await get(http, f"{api}/api/v1/organizations/match", status=400)


PORTAL = "http://portal.registry.test"
registry_event = partial(discovered, portal_url=PORTAL, source_id="registry-test")


async def test_a_departement_learns_its_siren_from_a_portal_and_stays_resolvable(referentiel, services, http):
    api, siren = services["api"].url, with_luhn_digit("22290001")
    await publish(
        referentiel, registry_event("fin-1", Publisher(name="Département du Finistère", siren=siren + "00017"))
    )

    async def renamed():
        card = await get(http, f"{api}/api/v1/organizations/DEP-29")
        return card if card["id"] == siren and card["indicators"].get("datasets") == 1 else None

    card = await wait_for(renamed)
    assert card["siren"] == siren and "DEP-29" in card["aliases"]
    assert (await get(http, f"{api}/api/v1/organizations/{siren}"))["name"] == "Finistère"
    listed = await get(http, f"{api}/api/v1/organizations?type=DEP&region=53")
    assert siren in {o["id"] for o in listed["data"]} and listed["total"] == 4


async def test_a_body_outside_the_referentiel_is_created_from_its_siren_and_typed(referentiel, services, http):
    api, siren = services["api"].url, with_luhn_digit("25290042")
    await publish(
        referentiel, registry_event("syn-1", Publisher(name="Syndicat mixte du bassin de l'Élorn", siren=siren))
    )
    card = await wait_for(lambda: _card(http, f"{api}/api/v1/organizations/{siren}"))
    assert (card["type"], card["obligation"]["method"]) == ("AGCT", "not_a_collectivite")
    assert card["provenance"]["siren"] == f"portal:{PORTAL}"


async def test_a_publisher_that_cannot_be_decided_is_listed_unmatched(referentiel, services, http):
    api = services["api"].url
    await publish(referentiel, registry_event("sd-1", Publisher(name="Commune de Saint-Denis")))

    async def listed():
        body = await get(http, f"{api}/api/v1/publishers/unmatched?page_size=200")
        return next((p for p in body["data"] if p["name"] == "Commune de Saint-Denis"), None)

    publisher = await wait_for(listed)
    assert "homonym" in publisher["reason"] and len(publisher["candidates"]) > 1
    assert publisher["portal_url"] == PORTAL


async def _card(http, url):
    async with http.get(url) as response:
        return await response.json() if response.status == 200 else None


async def test_the_portals_territory_decides_between_homonym_communes(referentiel, services, http):
    api = services["api"].url
    expected = (await get(http, f"{api}/api/v1/organizations/match?name=Saint-Denis&departement=974"))["best"]
    await publish(referentiel, registry_event("sd-974", Publisher(name="Commune de Saint-Denis", departement="974")))

    async def counted():
        card = await get(http, f"{api}/api/v1/organizations/{expected['organization_id']}")
        return card if card["indicators"].get("datasets") == 1 else None

    assert (await wait_for(counted))["departement"] == "974"


def former_names_and_sirens() -> tuple[tuple[str, str, str], tuple[str, str]]:
    """A commune déléguée (name, département, its commune nouvelle's id) as the package lists it, and
    an EPCI SIREN of an earlier edition with its successor, as services/consolidator/predecessors.csv
    gives them: read from the files, not from the code under test."""
    package = Settings().referentiel_path / "data" / "communes.json"
    communes = json.loads(package.read_text(encoding="utf-8"))
    actual = {c["code"]: c for c in communes if c["type"] == "commune-actuelle"}
    delegated = next(
        c for c in communes
        if c["type"] == "commune-deleguee" and c["nom"] == "Bellegarde-sur-Valserine" and c["chefLieu"] in actual
    )  # fmt: skip
    with PREDECESSORS.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    lille = next(r for r in rows if r["kind"] == "epci" and r["former_name"] == "Métropole Européenne de Lille")
    return (
        (delegated["nom"], delegated["departement"], actual[delegated["chefLieu"]]["siren"]),
        (lille["former_siren"], lille["successor_id"]),
    )


async def test_a_publisher_writing_a_former_name_or_siren_reaches_the_successor(referentiel, services, http):
    api = services["api"].url
    (name, departement, commune_id), (old_siren, epci_id) = former_names_and_sirens()
    found = await get(http, f"{api}/api/v1/organizations/match?name=Mairie%20de%20{name}&departement={departement}")
    assert (found["best"]["organization_id"], found["best"]["rule"]) == (commune_id, "former-name")
    found = await get(http, f"{api}/api/v1/organizations/match?name=Lille%20M%C3%A9tropole&siren={old_siren}")
    assert (found["best"]["organization_id"], found["best"]["rule"]) == (epci_id, "former-siren")

    await publish(referentiel, registry_event("former-1", Publisher(name=f"Ville de {name}", departement=departement)))
    await publish(referentiel, registry_event("former-2", Publisher(name="Lille Métropole", siren=old_siren)))

    async def attributed(organization_id: str, remote_id: str):
        body = await get(http, f"{api}/api/v1/organizations/{organization_id}/datasets?page_size=200")
        return body if any(d["title"] == f"Jeu {remote_id}" for d in body["data"]) else None

    assert await wait_for(lambda: attributed(commune_id, "former-1"))
    assert await wait_for(lambda: attributed(epci_id, "former-2"))
    # The history is on the cards: the commune déléguée, and the EPCI's SIREN before the merger.
    card = await get(http, f"{api}/api/v1/organizations/{commune_id}")
    assert {"name": name, "kind": "commune-deleguee"}.items() <= next(
        p for p in card["predecessors"] if p["name"] == name
    ).items()
    card = await get(http, f"{api}/api/v1/organizations/{epci_id}")
    assert any(p["siren"] == old_siren and p["kind"] == "epci" for p in card["predecessors"])
    # No organisation was made up for the old SIREN.
    await get(http, f"{api}/api/v1/organizations/{old_siren}", status=404)


async def test_the_portals_owner_decides_between_homonyms_of_which_it_is_one(referentiel, services, http):
    """The name "DOUBS" is the département and a commune of the Doubs; on the département's portal (a source
    registered with its owner), it is the département."""
    api = services["api"].url
    ambiguous = await get(http, f"{api}/api/v1/organizations/match?name=DOUBS&departement=25")
    assert ambiguous["best"] is None and "DEP-25" in {c["organization_id"] for c in ambiguous["candidates"]}
    publisher = Publisher(name="DOUBS", departement="25", portal_owner="DEP-25")
    await publish(referentiel, registry_event("owner-1", publisher))

    async def attributed():
        body = await get(http, f"{api}/api/v1/organizations/DEP-25/datasets?page_size=200")
        return body if any(d["title"] == "Jeu owner-1" for d in body["data"]) else None

    assert await wait_for(attributed)
