"""The référentiel read from the pinned npm package (installed by `make setup`), checked against the
package's own files read independently here."""

import csv
import json
from collections import Counter

import pytest

from services.consolidator.organizations import merge_referentiel, merged_into, without_taken_sirens
from services.consolidator.referentiel import COUNCILS, PREDECESSORS, organizations, read_package
from shared.events import Obligation, Organization
from shared.identifiers import luhn_valid
from shared.settings import Settings

PATH = Settings().referentiel_path


@pytest.fixture(scope="module")
def raw():
    return {
        name: json.loads((PATH / "data" / f"{name}.json").read_text())
        for name in ("communes", "departements", "regions", "epci", "ept")
    }


@pytest.fixture(scope="module")
def registry():
    return {o.id: o for o in organizations(read_package(PATH))}


def test_one_organisation_per_cog_entry_of_every_type(raw, registry):
    types = Counter(o.type for o in registry.values())
    communes = [c for c in raw["communes"] if c["type"] == "commune-actuelle"]
    epci_types = Counter(e["type"] for e in raw["epci"])
    assert types["REG"] == 18 and types["DEP"] == 101
    assert types["COM"] == len(communes)
    assert types["EPT"] == len(raw["ept"]) == 11
    assert (types["CC"], types["CA"], types["CU"]) == (epci_types["CC"], epci_types["CA"], epci_types["CU"])
    assert types["MET"] == epci_types["METRO"] + epci_types["MET69"]
    overseas = {d["code"] for d in raw["departements"] if d["zone"] == "com"}
    assert types["COLOM"] == len(overseas) + len(councils_added()) == 8 + 3
    assert len(registry) == sum(types.values())


def test_identity_is_the_siren_where_the_package_gives_one(raw, registry):
    for commune in raw["communes"]:
        if commune["type"] != "commune-actuelle":
            continue
        expected = commune.get("siren") or f"COM-{commune['code']}"
        organization = registry[expected]
        assert organization.insee_code == commune["code"]
        assert f"insee-com:{commune['code']}" in organization.aliases
    assert registry["REG-53"].siren is None and registry["DEP-2A"].siren is None
    assert all(luhn_valid(e["code"]) for e in raw["epci"])


def test_membership_from_commune_to_region(registry):
    rennes = registry["213502388"]
    assert (rennes.insee_code, rennes.departement, rennes.region) == ("35238", "35", "53")
    assert registry[rennes.epci].name == "Rennes Métropole"
    assert registry["DEP-35"].region == "53"


def test_single_councils_point_to_one_organisation(registry):
    assert {registry[i].council_id for i in ("REG-94", "DEP-2A", "DEP-2B")} == {"REG-94"}
    assert {registry[i].council_id for i in ("DEP-67", "DEP-68")} == {"DEP-67"}
    assert {registry[i].council_id for i in ("217500016", "DEP-75")} == {"217500016"}
    assert registry["REG-03"].council_id == registry["DEP-973"].council_id == "REG-03"
    assert registry["REG-02"].council_id == registry["DEP-972"].council_id == "REG-02"
    assert "Métropole de Lyon" in (registry["200046977"].council_note or "")
    assert registry["DEP-35"].council_id is None


def test_obligated_communes_are_those_above_3500_inhabitants(raw, registry):
    expected = {
        c["siren"]
        for c in raw["communes"]
        if c["type"] == "commune-actuelle" and c.get("siren") and (c.get("population") or 0) > 3500
    }
    actual = {o.id for o in registry.values() if o.type == "COM" and o.obligated and o.siren}
    assert actual == expected


def organization(**fields) -> Organization:
    return Organization(**{"id": "DEP-35", "name": "Ille-et-Vilaine", "type": "DEP", **fields})


def test_a_newer_referentiel_updates_names_but_keeps_what_was_learned():
    current = organization(
        id="223500018",
        siren="223500018",
        aliases=["insee-dep:35", "DEP-35"],
        provenance={"siren": "portal:https://www.data.gouv.fr", "name": "referentiel:5.0.0"},
    )
    listed = organization(
        name="Ille-et-Vilaine (35)",
        population=1_100_000,
        aliases=["insee-dep:35"],
        obligation=Obligation(obligated=True, method="population_only", population=1_100_000),
        provenance={"name": "referentiel:6.0.0"},
    )
    merged = merge_referentiel(current, listed)
    assert merged.id == "223500018" and merged.siren == "223500018"
    assert merged.name == "Ille-et-Vilaine (35)" and merged.population == 1_100_000
    assert merged.aliases == ["insee-dep:35", "DEP-35"]
    assert merged.provenance == {"siren": "portal:https://www.data.gouv.fr", "name": "referentiel:6.0.0"}


def test_the_merge_gives_the_harvested_state_without_contributed_values():
    current = organization(name="Département d'Ille-et-Vilaine", provenance={"name": "contribution:7"})
    merged = merge_referentiel(current, organization(name="Ille-et-Vilaine", provenance={"name": "referentiel:6"}))
    assert merged.name == "Ille-et-Vilaine"
    assert merged.provenance["name"] == "referentiel:6"


def test_listing_an_organisation_again_changes_nothing():
    listed = organization(aliases=["insee-dep:35"], provenance={"name": "referentiel:6"})
    assert merge_referentiel(listed, listed) == listed
    assert merged_into(listed, "X").status == "merged"


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Syndicat mixte du bassin de la Vilaine", "AGCT"),
        ("SIVOM de la vallée", "AGCT"),
        ("GIP Bretagne Environnement", "AGCT"),
        ("Office de Tourisme de Rennes", "OACT"),
        ("Régie des eaux de Grenoble", "OACT"),
        ("CCAS de Brest", "OACT"),
        ("SEM Énergies Rennes", "DSPT"),
        ("SPL Eau du Ponant", "DSPT"),
        ("Association des amis du patrimoine", None),
    ],
)
def test_bodies_outside_the_referentiel_are_typed_from_their_name(name, expected):
    from services.consolidator.organizations import infer_type

    assert infer_type(name) == expected


def test_every_commune_deleguee_or_associee_is_a_predecessor_of_its_commune_nouvelle(raw, registry):
    actual = {c["code"]: c for c in raw["communes"] if c["type"] == "commune-actuelle"}
    former = [
        c for c in raw["communes"]
        if c["type"] in ("commune-deleguee", "commune-associee") and c["nom"] != actual[c["chefLieu"]]["nom"]
    ]  # fmt: skip
    assert len(former) > 2000
    for c in former:
        successor = registry[actual[c["chefLieu"]].get("siren") or f"COM-{c['chefLieu']}"]
        assert (c["nom"], c["type"], c["code"]) in {(p.name, p.kind, p.insee_code) for p in successor.predecessors}
        assert f"former-name:{c['departement']}:{c['nom']}" in successor.aliases


def test_communes_and_epci_of_earlier_editions_reach_a_successor_of_the_pinned_one(raw, registry):
    """predecessors.csv (built from earlier editions) names only successors the pinned edition holds,
    and only gone organisations: regenerate it (`make predecessors`) when the pinned version moves."""
    with PREDECESSORS.open(encoding="utf-8") as f:
        assert f"({raw_version()})" in f.read(400)
        f.seek(0)
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    current_sirens = {o.siren for o in registry.values() if o.siren}
    assert {r["kind"] for r in rows} == {"commune", "epci"}
    for row in rows:
        assert row["former_siren"] not in current_sirens
        if row["successor_id"]:
            successor = registry[row["successor_id"]]
            assert successor.type == ("COM" if row["kind"] == "commune" else successor.type) and successor.type != "DEP"
            assert row["former_name"] in {p.name for p in successor.predecessors}
            if row["former_siren"]:
                assert f"former-siren:{row['former_siren']}" in successor.aliases
        else:  # an EPCI split with no majority successor: left out
            assert row["kind"] == "epci" and float(row["share"]) <= 0.5


def raw_version() -> str:
    return str(json.loads((PATH / "package.json").read_text())["version"])


def councils_added() -> list[dict[str, str]]:
    """The rows of councils.csv that add an organisation (a type given), read apart from the code."""
    with COUNCILS.open(encoding="utf-8") as f:
        return [r for r in csv.DictReader(line for line in f if not line.startswith("#")) if r["type"]]


def test_councils_the_package_lacks_are_organisations_with_their_siren(registry):
    added = councils_added()
    assert {r["name"] for r in added} == {"Province Sud", "Province Nord", "Province des îles Loyauté"}
    for row in added:
        council = registry[row["siren"]]
        assert (council.name, council.type, council.departement, council.siren) == (
            row["name"],
            "COLOM",
            "988",
            row["siren"],
        )
        assert council.obligated is True and council.provenance["population"] == row["population_source"]
    # An entry the package lists without a SIREN gets it, and keeps its COG id.
    assert registry["COLOM-988"].siren == "200024933"
    assert registry["COLOM-988"].provenance["siren"].startswith("councils.csv")


def test_a_siren_the_registry_gives_another_organisation_is_not_taken_twice(registry):
    """COLOM-988 gets its SIREN from councils.csv; had a portal made that SIREN known first as an
    organisation of its own, the référentiel entry leaves it there rather than break the UNIQUE SIREN."""
    listed = [registry["COLOM-988"], registry["200012490"]]
    kept = without_taken_sirens(listed, {"200024933": "200024933", "200012490": "200012490"})
    assert [(o.id, o.siren) for o in kept] == [("COLOM-988", None), ("200012490", "200012490")]
    assert without_taken_sirens(listed, {}) == listed
