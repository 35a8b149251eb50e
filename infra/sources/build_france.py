"""Regenerate infra/sources/france.yaml, the observatory's catalogue of the real portals of France,
from Open Data France's registry (infra/sources/odf/, see its README):

    .venv/bin/python infra/sources/build_france.py > infra/sources/france.yaml

Every platform of the registry is listed: with the family that reads it (from its address when the
address tells, else from the technology ODF recorded), its URL for that family, and the département
of its owner where the address names one; or as not harvested, with why. data.gouv.fr is read
through its daily exports. The référentiel (infra/referentiel, installed by `make setup`) gives the
names of départements and communes the addresses are read against.
"""

import csv
import json
import re
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
REFERENTIEL = HERE.parent / "referentiel/node_modules/@etalab/decoupage-administratif/data"
NATIONAL_EXPORT = "https://www.data.gouv.fr/api/1/site/datasets.csv"
SCHEDULE = "@daily"
BIG_COMMUNE = 15_000  # inhabitants: a commune this large is named in an address without ambiguity

# Where a capture in tests/data/real/ shows the API at another address than the platform's.
KNOWN_APIS = {
    # tests/data/real/ckan/datasud-package-search.json was answered there
    "trouver.datasud.fr": ("ckan", "https://www.datasud.fr/fr/indexer/service/ckan"),
}
OVERSEAS_DOMAINS = {"re": "974", "pf": "987", "nc": "988", "gp": "971", "mq": "972", "gf": "973", "yt": "976"}
GENERIC_WORDS = ("www", "data", "opendata", "open", "donnees", "donneespubliques", "trouver", "sig", "geo",
                 "catalogue", "agglo", "grand", "metropole", "ville", "mairie", "departement", "cd", "arcgis",
                 "opendatasoft", "hub", "asso", "numerique", "datas", "fr")  # fmt: skip
NOT_READ = {
    "MGDIS Open Data": "MGDIS platform: no documented catalogue API, no family reads it",
    "TYPO3 In Cite": "TYPO3 In Cité site: no catalogue API, no family reads it",
    "Isogéo": "Isogéo catalogue: its API needs an access key; its CSW share address is not in the registry",
    "OpenDataGazette": "OpenDataGazette site: no documented catalogue API, no family reads it",
    "Spécifique": "custom site: no catalogue API known; what the collectivité also publishes on data.gouv.fr "
    "reaches the observatory through the national export",
}


def slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]", "", plain)


class Places:
    """Département and big-commune names, as addresses write them (no accents, no spaces)."""

    def __init__(self, referentiel: Path) -> None:
        departements = json.loads((referentiel / "departements.json").read_text())
        communes = json.loads((referentiel / "communes.json").read_text())
        self.departements = {re.sub(r"^(la|le|les)(?=[a-z]{4})", "", slug(d["nom"])): d["code"] for d in departements}
        self.codes = {d["code"] for d in departements}
        by_name: dict[str, set[str]] = defaultdict(set)
        for c in communes:
            if c.get("type") == "commune-actuelle" and (c.get("population") or 0) >= BIG_COMMUNE:
                by_name[slug(c["nom"])].add(c["departement"])
        self.communes = {name: codes.pop() for name, codes in by_name.items() if len(codes) == 1}

    def departement(self, host: str) -> str | None:
        """The département an address names, when it names exactly one."""
        labels = host.lower().split(".")
        if labels[-1] in OVERSEAS_DOMAINS:
            return OVERSEAS_DOMAINS[labels[-1]]
        saas = host.endswith((".opendatasoft.com", ".opendata.arcgis.com", ".data4citizen.com"))
        found = set()
        for label in labels[:-1]:
            words = re.findall(r"[a-z]+", label)
            names = [re.sub(r"^(la|le|les)(?=[a-z]{4})", "", _bare(w)) for w in words]
            # A short name (Ain, Gers, Paris) only alone: "paris-saclay" is not Paris.
            alone = {n for n in names if n and n not in GENERIC_WORDS and len(n) > 2}
            if len(alone) == 1 and (only := alone.pop()) in self.departements:
                found.add(self.departements[only])
            joined = "".join(names)
            found |= {code for name, code in self.departements.items() if len(name) >= 6 and name in joined}
            found |= {m for t in re.split(r"[^a-z0-9]+", label) if (m := _number_code(t)) and m in self.codes}
            found |= self._commune(words, first_only=saas)
        return found.pop() if len(found) == 1 else None

    def _commune(self, words: list[str], first_only: bool) -> set[str]:
        """A big commune a label names: the label is that name ("paris", "agglo-royan",
        "grandbesancon", "nantesmetropole"), or, on a shared platform's subdomain, its first word
        ("boulognebillancourt-seineouest"). "paris-saclay" or "grandparissud" name no commune."""
        meaningful = [_bare(w) for w in words if w not in GENERIC_WORDS and len(w) > 1]
        meaningful = [w for w in meaningful if w]
        if not meaningful:
            return set()
        whole = "".join(meaningful)
        if whole in self.communes:
            return {self.communes[whole]}
        if first_only and meaningful[0] in self.communes:
            return {self.communes[meaningful[0]]}
        return set()


def _bare(word: str) -> str:
    """A word without the intercommunal affixes addresses glue to a commune's name."""
    for affix in ("grand", "metropole", "metro", "agglo", "ville", "geo"):
        word = word.removeprefix(affix).removesuffix(affix)
    return word


def _number_code(token: str) -> str | None:
    """`data16`, `opendata76`, `cd37`, `infocom94`: a département number glued to a word."""
    match = re.fullmatch(r"[a-z]+(\d{2})", token)
    return match.group(1) if match else None


def reading(url: str, technology: str) -> tuple[str, str] | str:
    """(family, source URL) for a platform a family reads, else why not."""
    host = urlsplit(url).hostname or ""
    base = url.rstrip("/")
    if host in KNOWN_APIS:
        return KNOWN_APIS[host]
    if host.endswith((".opendata.arcgis.com", ".hub.arcgis.com")) or technology.lower() == "arcgis":
        return "arcgis", f"{base}/api/feed/dcat-us/1.1.json"
    if host.endswith(".opendatasoft.com") or technology == "OpenDataSoft":
        return "ods", base
    if technology == "CKAN":
        return "ckan", base
    if technology == "DATA4CITIZEN":
        return "ckan", f"{base}/fr/indexer/service/ckan"  # Data4Citizen's Drupal serves CKAN's API there
    if technology == "GeoNetwork":
        return "csw", f"{base}/geonetwork/srv/fre/csw"  # GeoNetwork's default CSW endpoint
    if technology in ("DataGouv", "uData"):
        if host == "www.data.gouv.fr":
            return "udata", NATIONAL_EXPORT
        if host.startswith(("data.", "opendata.", "donnees.")):
            return "udata", base
        return "site of the collectivité, which publishes on data.gouv.fr: read through the national export"
    return NOT_READ.get(technology, f"technology {technology!r}: no family reads it")


def source_id(host: str, taken: set[str]) -> str:
    name = "odf-" + re.sub(r"[^a-z0-9]+", "-", host.lower().removeprefix("www.")).strip("-")
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}-{n}", n + 1
    taken.add(candidate)
    return candidate


def catalogue(places: Places) -> list[dict[str, object]]:
    entries: list[dict[str, object]] = []
    taken: set[str] = set()
    with (HERE / "odf/odf-platforms.csv").open(encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            url, technology = row["url"].strip(), row["technology"].strip()
            host = urlsplit(url).hostname or url
            entry: dict[str, object] = {"id": source_id(host, taken), "name": host}
            how = reading(url, technology)
            if isinstance(how, tuple):
                entry |= {"family": how[0], "url": how[1], "schedule": SCHEDULE}
                if host != "www.data.gouv.fr" and (code := places.departement(host)):
                    entry["departement"] = code
            else:
                entry |= {"url": url, "harvested": False, "reason": how}
            entry["odf"] = {"technology": technology, "organisations": int(row["organisations"] or 0)}
            entries.append(entry)
    with (HERE / "odf/odf-national-platforms.csv").open(encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            host = urlsplit(row["url"].strip()).hostname or row["url"]
            if host == "www.data.gouv.fr":
                continue  # in the list of platforms already
            entries.append({
                "id": source_id(host, taken), "name": row["nom"].strip(), "url": row["url"].strip(), "harvested": False,
                "reason": "national or thematic platform: what collectivités publish there also reaches data.gouv.fr",
                "odf": {"technology": row["techno"].strip(), "national": True},
            })  # fmt: skip
    return entries


def main() -> None:
    entries = catalogue(Places(REFERENTIEL))
    harvested = [e for e in entries if e.get("harvested", True)]
    header = (
        "# The real portals of France, generated by infra/sources/build_france.py from Open Data France's\n"
        "# registry (infra/sources/odf/README.md): do not edit by hand. `sources seed` adds the harvested\n"
        "# ones and reports the others with their reason.\n"
        f"# {len(harvested)} harvested, {len(entries) - len(harvested)} not harvested.\n"
    )
    import yaml  # from the project's virtualenv

    sys.stdout.write(header + yaml.safe_dump(entries, allow_unicode=True, sort_keys=False, width=120))


if __name__ == "__main__":
    main()
