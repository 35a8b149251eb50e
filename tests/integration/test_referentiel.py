"""The référentiel loaded through Kafka and the consolidator, as `make up` does, checked against the
package's own files; then reloaded, and loaded again in a newer (edited) version."""

import csv
import json
import shutil

import pytest

from services.consolidator.referentiel import COUNCILS
from shared.settings import Settings
from tests.conftest import load
from tests.support.db import connect_as
from tests.support.kafka import end_offsets
from tests.support.processes import run_module

pytestmark = pytest.mark.integration

PACKAGE = Settings().referentiel_path


@pytest.fixture
def loaded(referentiel):
    return referentiel


def expected_counts() -> dict[str, tuple[int, int]]:
    """(organisations, obligated) per type, computed here from the package's files alone."""
    data = {
        n: json.loads((PACKAGE / "data" / f"{n}.json").read_text())
        for n in ("communes", "departements", "regions", "epci", "ept")
    }
    communes = [c for c in data["communes"] if c["type"] == "commune-actuelle"]
    population: dict[str, int] = {}
    for c in communes:
        population[c["departement"]] = population.get(c["departement"], 0) + (c.get("population") or 0)
    counts = {
        "COM": (len(communes), sum(1 for c in communes if (c.get("population") or 0) > 3500)),
        "REG": (sum(1 for r in data["regions"] if r["zone"] != "com"),) * 2,
        "DEP": (sum(1 for d in data["departements"] if d["zone"] != "com"),) * 2,
        "EPT": (len(data["ept"]), sum(1 for e in data["ept"] if e["populationMunicipale"] > 3500)),
    }
    for code, kinds in {"CC": {"CC"}, "CA": {"CA"}, "CU": {"CU"}, "MET": {"METRO", "MET69"}}.items():
        members = [e for e in data["epci"] if e["type"] in kinds]
        counts[code] = (len(members), sum(1 for e in members if e["populationMunicipale"] > 3500))
    om = {d["code"] for d in data["departements"] if d["zone"] == "com"}
    om_population = [population.get(code, 0) for code in om]
    # The councils the package lacks (the provinces of Nouvelle-Calédonie), from the committed list.
    with COUNCILS.open(encoding="utf-8") as f:
        added = [r for r in csv.DictReader(line for line in f if not line.startswith("#")) if r["type"]]
    om_population += [int(r["population"]) for r in added if r["type"] == "COLOM"]
    counts["COLOM"] = (len(om_population), sum(1 for p in om_population if p > 3500))
    return counts


async def test_the_registry_holds_the_whole_referentiel_with_its_obligation(loaded):
    conn = await connect_as(loaded)  # the admin: the registry and the indicators
    rows = await conn.fetch(
        "SELECT type, count(*) AS n, count(*) FILTER (WHERE obligated) AS obligated FROM registry.organizations "
        "WHERE status = 'active' AND type IS NOT NULL"
        # not the bodies a portal made known by their SIREN (a syndicate harvested by another test)
        " AND coalesce(state->'provenance'->>'name', '') NOT LIKE 'portal:%' GROUP BY type"
    )
    indicators = await conn.fetchval("SELECT count(*) FROM indicators.current_values WHERE scope = 'organization'")
    await conn.close()
    expected = expected_counts()
    assert {r["type"]: (r["n"], r["obligated"]) for r in rows} == expected
    assert indicators >= sum(n for n, _ in expected.values())


async def test_the_obligated_counts_command_prints_the_same_numbers(loaded):
    output = await run_module(loaded, "services.consolidator", "obligated-counts")
    rows = [line.split() for line in output.splitlines()[1:]]
    printed = {row[0]: (int(row[1]), int(row[2])) for row in rows}
    for type_, counts in expected_counts().items():
        assert printed[type_] == counts, type_


async def test_loading_the_same_referentiel_again_changes_nothing(loaded):
    before = await end_offsets(loaded, "registry.organizations")
    conn = await connect_as(loaded, "consolidator")
    history = await conn.fetchval("SELECT count(*) FROM registry.organization_history")
    await load(loaded)
    assert await end_offsets(loaded, "registry.organizations") == before
    assert await conn.fetchval("SELECT count(*) FROM registry.organization_history") == history
    await conn.close()


async def test_a_newer_referentiel_updates_names_populations_and_merged_communes(loaded, tmp_path):
    newer = tmp_path / "decoupage-administratif"
    shutil.copytree(PACKAGE, newer)
    package = json.loads((newer / "package.json").read_text())
    package["version"] = "6.0.1-test"
    (newer / "package.json").write_text(json.dumps(package))
    communes = json.loads((newer / "data" / "communes.json").read_text())
    by_code = {c["code"]: c for c in communes if c["type"] == "commune-actuelle"}
    by_code["35238"]["population"] = 230_000  # Rennes grows
    by_code["35328"]["nom"] = "Sixt-sur-Aff-en-Brocéliande"  # renamed
    absorbed = by_code["35001"]  # Acigné merges into Thorigné-Fouillard
    successor = by_code["35334"]
    successor["anciensCodes"] = [*successor.get("anciensCodes", []), absorbed["code"]]
    communes.remove(absorbed)
    (newer / "data" / "communes.json").write_text(json.dumps(communes))

    conn = await connect_as(loaded, "consolidator")
    await load(loaded, newer)
    rows = {
        r["insee_code"]: r
        for r in await conn.fetch(
            "SELECT id, insee_code, name, population, status, successor_id FROM registry.organizations "
            "WHERE insee_code = ANY($1::text[])",
            ["35238", "35328", "35001", "35334"],
        )
    }
    alias_owner = await conn.fetchval("SELECT organization_id FROM registry.aliases WHERE alias = 'insee-com:35001'")
    history = await conn.fetch(
        "SELECT cause FROM registry.organization_history WHERE organization_id = $1 ORDER BY id", rows["35001"]["id"]
    )
    await conn.close()
    assert rows["35238"]["population"] == 230_000
    assert rows["35328"]["name"] == "Sixt-sur-Aff-en-Brocéliande"
    assert (rows["35001"]["status"], rows["35001"]["successor_id"]) == ("merged", rows["35334"]["id"])
    assert alias_owner == rows["35334"]["id"]
    assert [h["cause"] for h in history] == ["referentiel:6.0.0", "referentiel:6.0.1-test"]
    # The organisation cards stay resolvable by every id.
    assert rows["35334"]["status"] == "active"
