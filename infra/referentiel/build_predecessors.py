"""Build infra/referentiel/predecessors.csv: communes and EPCI of earlier editions of the référentiel
that are gone from the pinned one, each with the organisation that succeeded it.

    python infra/referentiel/build_predecessors.py EDITION_DIR [EDITION_DIR ...] > predecessors.csv

Each EDITION_DIR is an unpacked earlier version of @etalab/decoupage-administratif (`npm pack
@etalab/decoupage-administratif@0.3.0` then `tar xzf`; `make predecessors` does it). The pinned
edition is read from infra/referentiel/node_modules. Publishers keep writing a commune's or an EPCI's
old name or SIREN for years after a merger; the consolidator reads this file at each référentiel load
so that those names and SIRENs reach the successor (services/consolidator/referentiel.py).

Rules, the same for every edition, newest edition first (its name and SIREN win):
- a commune (commune actuelle) whose INSEE code is no longer a commune actuelle is succeeded by the
  commune that lists its code among its former codes (`anciensCodes`) or that its code is the chef-lieu
  of (`chefLieu` of a commune déléguée or associée), unless both have the same SIREN (a new code only);
- an EPCI whose SIREN is no longer an EPCI (nor an EPT) is succeeded by the EPCI that now holds the
  majority of its population (its member communes, followed through their own successors); an EPCI
  split with no such majority is written without a successor, and the consolidator does not use it.
"""

import csv
import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

PINNED = Path(__file__).with_name("node_modules") / "@etalab" / "decoupage-administratif"
SIREN = re.compile(r"^\d{9}$")
FIELDS = ("kind", "former_siren", "former_code", "former_name", "departement", "successor_id", "edition", "share")


def load(directory: Path) -> dict[str, Any]:
    def read(name: str) -> list[dict[str, Any]]:
        path = directory / "data" / f"{name}.json"
        return list(json.loads(path.read_text(encoding="utf-8"))) if path.exists() else []

    version = json.loads((directory / "package.json").read_text())["version"]
    return {"version": version, "communes": read("communes"), "epci": read("epci"), "ept": read("ept")}


def current_commune_of(pinned: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """INSEE code (current or former) -> the commune actuelle that holds it now."""
    actual = {c["code"]: c for c in pinned["communes"] if c["type"] == "commune-actuelle"}
    holder = dict(actual)
    for c in actual.values():
        for old in c.get("anciensCodes", []):
            holder.setdefault(old, c)
    for c in pinned["communes"]:
        if c["type"] in ("commune-deleguee", "commune-associee") and c.get("chefLieu") in actual:
            holder.setdefault(c["code"], actual[c["chefLieu"]])
    return holder


def former_communes(
    edition: dict[str, Any], holder: dict[str, dict[str, Any]], current: set[str]
) -> list[dict[str, Any]]:
    # Early editions give a commune's SIREN only among its EPCI's members.
    siren_of = {
        m["code"]: m["siren"] for e in edition["epci"] for m in e.get("membres", []) if SIREN.match(str(m.get("siren")))
    }
    rows = []
    for c in edition["communes"]:
        if c["type"] != "commune-actuelle" or c["code"] in current or c["code"] not in holder:
            continue
        successor = holder[c["code"]]
        siren = c.get("siren") or siren_of.get(c["code"], "")
        if siren and siren == successor.get("siren"):
            continue  # the same commune under a new INSEE code (Conques-en-Rouergue, 12076 then 12218)
        rows.append({
            "kind": "commune", "former_siren": siren, "former_code": c["code"],
            "former_name": c["nom"], "departement": c["departement"],
            "successor_id": successor.get("siren") or f"COM-{successor['code']}", "edition": edition["version"],
            "share": "",
        })  # fmt: skip
    return rows


def former_epci(
    edition: dict[str, Any], holder: dict[str, dict[str, Any]], epci_of: dict[str, str], current: set[str]
) -> list[dict[str, Any]]:
    departement_of = {
        c["code"]: c.get("departement", "") for c in edition["communes"] if c["type"] == "commune-actuelle"
    }
    rows = []
    for e in edition["epci"]:
        if e["code"] in current or not SIREN.match(e["code"]) or not e.get("nom"):
            continue  # 5.0.0 holds one entry with neither name nor code
        population: dict[str, int] = defaultdict(int)
        by_departement: dict[str, int] = defaultdict(int)
        for member in e.get("membres", []):
            commune = holder.get(member["code"])
            # Early editions give no member populations (and strings elsewhere): today's population then.
            people = int(member.get("populationMunicipale") or (commune or {}).get("population") or 0)
            population[epci_of.get(commune["code"], "") if commune else ""] += people
            by_departement[departement_of.get(member["code"], "")] += people
        total = sum(population.values())
        best = max((k for k in population if k), key=lambda k: population[k], default="")
        share = population[best] / total if total and best else 0.0
        rows.append({
            "kind": "epci", "former_siren": e["code"], "former_code": "", "former_name": e["nom"],
            "departement": max(by_departement, key=lambda k: by_departement[k]) if by_departement else "",
            "successor_id": best if share > 0.5 else "", "edition": edition["version"], "share": f"{share:.3f}",
        })  # fmt: skip
    return rows


def build(editions: list[dict[str, Any]], pinned: dict[str, Any]) -> list[dict[str, Any]]:
    holder = current_commune_of(pinned)
    current_communes = {c["code"] for c in pinned["communes"] if c["type"] == "commune-actuelle"}
    current_groups = {e["code"] for e in pinned["epci"]} | {t["code"] for t in pinned["ept"]}
    epci_of = {m["code"]: e["code"] for e in pinned["epci"] for m in e.get("membres", [])}
    newest_first = sorted(
        editions, key=lambda e: tuple(int(p) for p in e["version"].split("-")[0].split(".")), reverse=True
    )
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for edition in newest_first:
        for row in former_communes(edition, holder, current_communes) + former_epci(
            edition, holder, epci_of, current_groups
        ):
            rows.setdefault((row["kind"], row["former_code"] or row["former_siren"]), row)
    return sorted(rows.values(), key=lambda r: (r["kind"], r["former_code"] or r["former_siren"]))


def main(directories: list[str]) -> None:
    pinned = load(PINNED)
    editions = [load(Path(d)) for d in directories]
    out = sys.stdout
    out.write(
        "# Communes and EPCI of earlier editions of @etalab/decoupage-administratif gone from the pinned one\n"
        f"# ({pinned['version']}), with their successor. Editions read: "
        f"{', '.join(sorted(e['version'] for e in editions))}. Built by infra/referentiel/build_predecessors.py.\n"
    )
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(build(editions, pinned))


if __name__ == "__main__":
    main(sys.argv[1:])
