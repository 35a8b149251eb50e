"""The official référentiel of territories, from the npm package @etalab/decoupage-administratif:
one organisation per région and département of the COG, EPCI à fiscalité propre, EPT, commune
actuelle and collectivité d'outre-mer (zone "com"), with INSEE code, SIREN where the package gives
one, population (population municipale) and membership.

Ids: the SIREN where known (communes, EPCI, EPT); otherwise a COG-based id (`REG-53`, `DEP-2A`,
`COLOM-975`, `COM-98818`) until a SIREN is learned. Every organisation also carries an `insee-...`
alias; a commune carries one for each of its former codes (`anciensCodes`), which is how a commune
that merged into another is recognised when a newer package is loaded.

Predecessors: the communes déléguées and associées the package lists under a commune nouvelle, and
the communes and EPCI of earlier editions gone since (predecessors.csv, built from those editions by
infra/referentiel/build_predecessors.py), each on its successor's card and as aliases the matcher
reads: `former-siren:<SIREN>` and `former-name:<département>:<name>`.
"""

import csv
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.consolidator.obligation import obligation_for
from shared.events import Organization, Predecessor

TYPE_OF_EPCI_NATURE = {"CC": "CC", "CA": "CA", "CU": "CU", "METRO": "MET", "MET69": "MET"}  # the référentiel's
COM_ZONE = "com"
PREDECESSORS = Path(__file__).with_name("predecessors.csv")
COUNCILS = Path(__file__).with_name("councils.csv")
COUNCILS_SOURCE = "councils.csv (Open Data France's registry of organisations, 2022-10-19)"
FORMER_COMMUNES = {"commune-deleguee", "commune-associee"}
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
    former: list[dict[str, str]] = field(default_factory=list)  # predecessors.csv: earlier editions
    councils: list[dict[str, str]] = field(default_factory=list)  # councils.csv: what the package lacks


def read_csv(path: Path) -> list[dict[str, str]]:
    """A committed CSV whose first lines, starting with '#', say where it comes from."""
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def read_package(path: Path, predecessors: Path = PREDECESSORS, councils: Path = COUNCILS) -> Package:
    data = path / "data"
    if not (data / "communes.json").exists():
        raise FileNotFoundError(f"{path} is not @etalab/decoupage-administratif (run `make setup`)")

    def load(name: str) -> list[dict[str, Any]]:
        return list(json.loads((data / f"{name}.json").read_text(encoding="utf-8")))

    version = json.loads((path / "package.json").read_text())["version"]
    return Package(
        str(version), load("communes"), load("departements"), load("regions"), load("epci"), load("ept"),
        read_csv(predecessors), read_csv(councils),
    )  # fmt: skip


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

    predecessors_of = _predecessors(package, commune_by_code)

    def make(**fields: Any) -> Organization:
        fields["provenance"] = {name: provenance for name in PROVENANCE_FIELDS if fields.get(name) is not None}
        fields["obligation"] = obligation_for(fields["type"], fields.get("population"), source)
        if former := predecessors_of.get(fields["id"]):
            fields["predecessors"] = former
            fields["aliases"] = [*fields["aliases"], *predecessor_aliases(former)]
        council = _council(fields["id"])
        return Organization(**fields, **council)

    def area(kind: str, entry: dict[str, Any], population: dict[str, int], **where: str) -> Organization:
        """A région or a département, by its COG code."""
        code = entry["code"]
        return make(id=f"{kind}-{code}", name=entry["nom"], type=kind, insee_code=code, **where,
                    population=population.get(code) or None, aliases=[f"insee-{kind.lower()}:{code}"])  # fmt: skip

    result: list[Organization] = []
    result += [area("REG", r, population_of_reg, region=r["code"]) for r in package.regions if r["zone"] != COM_ZONE]
    result += [area("DEP", d, population_of_dep, departement=d["code"], region=d["region"])
               for d in package.departements if d["zone"] != COM_ZONE]  # fmt: skip
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

    def groupement(entry: dict[str, Any], kind: str) -> Organization:
        """An EPCI à fiscalité propre or an EPT, by its SIREN, placed where most of its communes are."""
        return make(id=entry["code"], siren=entry["code"], name=entry["nom"], type=kind,
                    population=entry.get("populationMunicipale"),
                    departement=_most_common(entry, commune_by_code, "departement"),
                    region=_most_common(entry, commune_by_code, "region"), aliases=[])  # fmt: skip

    result += [groupement(e, TYPE_OF_EPCI_NATURE[e["type"]]) for e in package.epci]
    result += [groupement(t, "EPT") for t in package.ept]
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
    return _with_councils(result, package.councils, make)


def _with_councils(
    result: list[Organization], councils: list[dict[str, str]], make: Callable[..., Organization]
) -> list[Organization]:
    """councils.csv: a SIREN for an entry the package gives none, and the councils it lacks."""
    by_id = {o.id: i for i, o in enumerate(result)}
    for row in councils:
        if row["id"] in by_id:
            known = result[by_id[row["id"]]]
            provenance = {**known.provenance, "siren": COUNCILS_SOURCE}
            result[by_id[row["id"]]] = known.model_copy(update={"siren": row["siren"], "provenance": provenance})
            continue
        council = make(
            id=row["id"], siren=row["siren"], name=row["name"], type=row["type"], departement=row["territory"],
            region=row["territory"], population=int(row["population"]), aliases=[],
        )  # fmt: skip
        provenance = {k: COUNCILS_SOURCE for k in council.provenance} | {"population": row["population_source"]}
        obligation = obligation_for(row["type"], int(row["population"]), row["population_source"])
        result.append(council.model_copy(update={"provenance": provenance, "obligation": obligation}))
    return result


def _predecessors(package: Package, commune_by_code: dict[str, dict[str, Any]]) -> dict[str, list[Predecessor]]:
    """Successor id -> the communes and EPCI it succeeded, named otherwise than itself."""
    found: dict[str, dict[tuple[str, str], Predecessor]] = defaultdict(dict)
    for c in package.communes:
        chef = commune_by_code.get(c.get("chefLieu") or "")
        if c["type"] in FORMER_COMMUNES and chef and c["nom"] != chef["nom"]:
            successor = chef.get("siren") or f"COM-{chef['code']}"
            found[successor][(c["code"], c["nom"])] = Predecessor(
                name=c["nom"], kind=c["type"], insee_code=c["code"], departement=c["departement"],
                last_edition=package.version,
            )  # fmt: skip
    for row in package.former:
        if not row["successor_id"]:
            continue
        key = (row["former_code"] or row["former_siren"], row["former_name"])
        if known := found[row["successor_id"]].get(key):  # a commune déléguée now: the SIREN it had
            found[row["successor_id"]][key] = known.model_copy(update={"siren": row["former_siren"] or None})
            continue
        found[row["successor_id"]][key] = Predecessor(
            name=row["former_name"], kind=row["kind"], insee_code=row["former_code"] or None,
            siren=row["former_siren"] or None, departement=row["departement"] or None, last_edition=row["edition"],
        )  # fmt: skip
    return {successor: sorted(p.values(), key=lambda p: p.name) for successor, p in found.items()}


def predecessor_aliases(predecessors: list[Predecessor]) -> list[str]:
    """The aliases the matcher reads: a former SIREN, and a former name within its département."""
    aliases = [f"former-siren:{p.siren}" for p in predecessors if p.siren]
    aliases += [f"former-name:{p.departement or ''}:{p.name}" for p in predecessors]
    return list(dict.fromkeys(aliases))


def alias_kind(alias: str) -> str:
    """The kind an alias of the référentiel is stored under: `insee` for codes, else its prefix."""
    prefix = alias.split(":", 1)[0]
    return prefix if prefix in ("former-siren", "former-name") else "insee"


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
