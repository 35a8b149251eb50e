"""The official référentiel of territories, from the npm package @etalab/decoupage-administratif:
one organisation per région and département of the COG, EPCI à fiscalité propre, EPT, commune
actuelle and collectivité d'outre-mer (zone "com"), with INSEE code, SIREN where the package gives
one, population (population municipale) and membership.

Ids: the SIREN where known (communes, EPCI, EPT); otherwise a COG-based id (`REG-53`, `DEP-2A`,
`COLOM-975`, `COM-98818`) until a SIREN is learned. Every organisation also carries an `insee-...`
alias; a commune carries one for each of its former codes (`anciensCodes`), which is how a commune
that merged into another is recognised when a newer package is loaded.
"""

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.consolidator.obligation import obligation_for
from shared.events import Organization

EPCI_TYPES = {"CC": "CC", "CA": "CA", "CU": "CU", "METRO": "MET", "MET69": "MET"}
COM_ZONE = "com"
PROVENANCE_FIELDS = ("name", "type", "siren", "insee_code", "departement", "region", "epci", "ept", "population")

# One council for several COG entries: council id -> (the COG entries it serves, its name).
# Indicators count each council once; the other entries point to it through `council_id`.
SINGLE_COUNCILS: dict[str, tuple[tuple[str, ...], str]] = {
    "REG-94": (("DEP-2A", "DEP-2B"), "Collectivité de Corse (région et départements 2A, 2B)"),
    "REG-03": (("DEP-973",), "Collectivité territoriale de Guyane (région et département)"),
    "REG-02": (("DEP-972",), "Collectivité territoriale de Martinique (région et département)"),
    "DEP-976": (("REG-06",), "Département de Mayotte, qui exerce aussi les compétences régionales"),
    "DEP-67": (("DEP-68",), "Collectivité européenne d'Alsace (départements 67 et 68)"),
    "217500016": (("DEP-75",), "Ville de Paris (commune et département)"),
}
# Councils with a special status that do not merge COG entries but must say so.
SPECIAL_STATUS: dict[str, str] = {
    "200046977": "Métropole de Lyon : collectivité à statut particulier, exerce les compétences du département "
    "sur son territoire",
    "DEP-69": "Département du Rhône, hors territoire de la Métropole de Lyon",
}


@dataclass(frozen=True)
class Package:
    version: str
    communes: list[dict[str, Any]]
    departements: list[dict[str, Any]]
    regions: list[dict[str, Any]]
    epci: list[dict[str, Any]]
    ept: list[dict[str, Any]]


def read_package(path: Path) -> Package:
    data = path / "data"
    if not (data / "communes.json").exists():
        raise FileNotFoundError(f"{path} is not @etalab/decoupage-administratif (run `make setup`)")

    def load(name: str) -> list[dict[str, Any]]:
        return list(json.loads((data / f"{name}.json").read_text(encoding="utf-8")))

    version = json.loads((path / "package.json").read_text())["version"]
    return Package(str(version), load("communes"), load("departements"), load("regions"), load("epci"), load("ept"))


def organizations(package: Package) -> list[Organization]:
    """Every organisation of the référentiel, in a stable order."""
    source = f"INSEE population municipale, @etalab/decoupage-administratif {package.version}"
    provenance = f"referentiel:{package.version}"
    communes = [c for c in package.communes if c["type"] == "commune-actuelle"]
    commune_by_code = {c["code"]: c for c in communes}
    epci_of = {m["code"]: e["code"] for e in package.epci for m in e.get("membres", [])}
    ept_of = {m["code"]: e["code"] for e in package.ept for m in e.get("membres", [])}
    population_of_dep: dict[str, int] = defaultdict(int)
    population_of_reg: dict[str, int] = defaultdict(int)
    for c in communes:
        population_of_dep[c["departement"]] += c.get("population") or 0
        population_of_reg[c["region"]] += c.get("population") or 0

    def make(**fields: Any) -> Organization:
        fields["provenance"] = {name: provenance for name in PROVENANCE_FIELDS if fields.get(name) is not None}
        fields["obligation"] = obligation_for(fields["type"], fields.get("population"), source)
        council = _council(fields["id"])
        return Organization(**fields, **council)

    result: list[Organization] = []
    for r in package.regions:
        if r["zone"] == COM_ZONE:
            continue
        result.append(
            make(
                id=f"REG-{r['code']}",
                name=r["nom"],
                type="REG",
                insee_code=r["code"],
                region=r["code"],
                population=population_of_reg.get(r["code"]) or None,
                aliases=[f"insee-reg:{r['code']}"],
            )
        )
    for d in package.departements:
        if d["zone"] == COM_ZONE:
            continue
        result.append(
            make(
                id=f"DEP-{d['code']}",
                name=d["nom"],
                type="DEP",
                insee_code=d["code"],
                departement=d["code"],
                region=d["region"],
                population=population_of_dep.get(d["code"]) or None,
                aliases=[f"insee-dep:{d['code']}"],
            )
        )
    for code, name in sorted({(d["code"], d["nom"]) for d in package.departements if d["zone"] == COM_ZONE}):
        result.append(
            make(
                id=f"COLOM-{code}",
                name=name,
                type="COLOM",
                insee_code=code,
                departement=code,
                region=code,
                population=population_of_dep.get(code) or None,
                aliases=[f"insee-com-om:{code}"],
            )
        )
    for e in package.epci:
        result.append(
            make(
                id=e["code"],
                siren=e["code"],
                name=e["nom"],
                type=EPCI_TYPES[e["type"]],
                population=e.get("populationMunicipale"),
                departement=_most_common(e, commune_by_code, "departement"),
                region=_most_common(e, commune_by_code, "region"),
                aliases=[],
            )
        )
    for t in package.ept:
        result.append(
            make(
                id=t["code"],
                siren=t["code"],
                name=t["nom"],
                type="EPT",
                population=t.get("populationMunicipale"),
                departement=_most_common(t, commune_by_code, "departement"),
                region=_most_common(t, commune_by_code, "region"),
                aliases=[],
            )
        )
    for c in communes:
        siren = c.get("siren")
        result.append(
            make(
                id=siren or f"COM-{c['code']}",
                siren=siren,
                name=c["nom"],
                type="COM",
                insee_code=c["code"],
                departement=c["departement"],
                region=c["region"],
                epci=epci_of.get(c["code"]),
                ept=ept_of.get(c["code"]),
                population=c.get("population"),
                aliases=[f"insee-com:{c['code']}", *(f"insee-com:{old}" for old in c.get("anciensCodes", []))],
            )
        )
    return result


def _council(organization_id: str) -> dict[str, str | None]:
    for council, (served, note) in SINGLE_COUNCILS.items():
        if organization_id == council or organization_id in served:
            return {"council_id": council, "council_note": note}
    if organization_id in SPECIAL_STATUS:
        return {"council_id": None, "council_note": SPECIAL_STATUS[organization_id]}
    return {"council_id": None, "council_note": None}


def _most_common(group: dict[str, Any], commune_by_code: dict[str, dict[str, Any]], field: str) -> str | None:
    """The département or région where most of a group's population lives."""
    counts: dict[str, int] = defaultdict(int)
    for member in group.get("membres", []):
        commune = commune_by_code.get(member["code"])
        if commune:
            counts[commune[field]] += member.get("populationMunicipale") or 0
    return max(counts, key=lambda k: counts[k]) if counts else None
