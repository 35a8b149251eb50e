"""Generated catalogues, deterministic for a seed and lazy: dataset `i` of a portal is computed when
asked for, so a world of 1,000 portals and 200,000 datasets costs no memory until it is served.

Publishers are organisations of the référentiel spelled as portals spell them ("Ville de Rennes",
"RENNES", "Commune de Rennes ", "Département d'Ille-et-Vilaine"...); titles and descriptions are
French; some fields are dirty on purpose (trailing spaces, HTML descriptions, missing licences,
format spellings). A share of each local portal's datasets also appears on the simulated
data.gouv.fr with `harvest.remote_id`, `remote_url` and `domain` pointing back to the local portal.
"""

import bisect
import hashlib
import itertools
import json
import math
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from shared.identifiers import with_luhn_digit

FAMILIES = ("udata", "ods", "ckan", "dcat", "arcgis", "csw")
SUBJECTS = (
    "Horaires des bus",
    "Qualité de l'air",
    "Plan local d'urbanisme",
    "Équipements sportifs",
    "Budget primitif",
    "Délibérations du conseil",
    "Défibrillateurs",
    "Marchés publics",
    "Arrêts de transport",
    "Bornes de recharge",
    "Menus des cantines",
    "Subventions aux associations",
    "Prénoms des nouveau-nés",
    "Adresses",
    "Arbres d'alignement",
    "Parkings",
    "Pistes cyclables",
    "Bureaux de vote",
    "Toilettes publiques",
    "Consommation d'énergie",
)
THEMES = ("Transports", "Environnement", "Urbanisme", "Culture", "Finances", "Citoyenneté", "Santé", "Éducation")
FORMATS = ("csv", "CSV", ".csv", "text/csv", "json", "geojson", "GeoJSON", "xlsx", "pdf", "shp", "zip", "")
LICENCES = ("fr-lo", "lov2", "Licence Ouverte v2.0 (Etalab)", "odc-odbl", "ODbL", "cc-by", "notspecified", "")
SCHEMA_SHARE = 0.1  # files declaring a schema: few do
SCHEMAS = (
    ("scdl/budget", "0.8.3"),
    ("scdl/deliberations", "2.1.5"),
    ("etalab/schema-irve-statique", "2.3.1"),
    ("scdl/subventions", "2.1.1"),
    # Schemas declared by their file elsewhere, as portals also do: an SCDL schema in Open Data
    # France's repository, a Table Schema on GitHub.
    ("https://git.opendatafrance.net/scdl/deliberations/raw/v2.1.5/schema.json", ""),
    ("https://raw.githubusercontent.com/etalab/schema-irve/v2.3.0/statique/schema.json", ""),
)
CATALOGUE_YEARS = 6  # datasets were created over the six years before the world's anchor date


def month_start() -> datetime:
    """The first day of the current month: the default anchor of a world's dates, so the same seed
    gives the same catalogue all month long while freshness still means something today."""
    now = datetime.now(UTC)
    return datetime(now.year, now.month, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Publisher:
    name: str  # as the portal spells it
    siret: str | None  # what udata gives in business_number_id (None for most other portals)
    remote_id: str  # the portal's own id for the organisation


HUGE_FILES = 15_000  # files of a dataset quirk `huge_every` makes by default: about 1.5 MB of DatasetDiscovered


@dataclass(frozen=True)
class Quirks:
    """Failures a portal reproduces, counted per request on that portal."""

    rate_limit_every: int = 0  # every Nth request answers 429 with Retry-After
    retry_after: int = 0
    error_5xx_every: int = 0  # every Nth request answers 503
    html_error_every: int = 0  # every Nth request answers an HTML error page (HTTP 500)
    success_false_every: int = 0  # CKAN: every Nth request answers success:false with HTTP 200
    truncated_every: int = 0  # every Nth request answers a truncated body
    slow_seconds: float = 0.0  # every request waits this long
    repeat_forever: bool = False  # the next link always leads to a page with the same content
    untitled_every: int = 0  # every Nth dataset has no title (a per-item error)
    huge_every: int = 0  # every Nth dataset lists `huge_files` files: above Kafka's default 1 MB per event
    huge_files: int = HUGE_FILES  # about 100 bytes of event each
    hydra: str = "partial"  # DCAT paging: "partial" (PartialCollectionView/next) or "paged" (PagedCollection/nextPage)
    hydra_literal: bool = False  # DCAT: next links as literals instead of IRIs
    ows_exception_every: int = 0  # CSW: every Nth request answers an ows:ExceptionReport with HTTP 200
    overcounted: int = 0  # CSW: numberOfRecordsMatched counts this many records it cannot list (empty last page)


@dataclass(frozen=True)
class PortalSpec:
    family: str
    slug: str
    size: int
    seed: int = 0
    publishers: tuple[Publisher, ...] = ()
    quirks: Quirks = Quirks()
    mirrored_share: float = 0.0  # share of the datasets also on data.gouv.fr (harvested from here)
    federated_share: float = 0.0  # ODS: share of datasets federated from another ODS domain
    dcat_format: str = "turtle"  # DCAT: turtle, xml or json-ld
    page_size: int = 100  # DCAT and ArcGIS paged feeds, CSW's largest page
    paged: bool = False  # ArcGIS: data.json paged with ?page=N (404 after the last page)
    rows_max: int = 1000  # CKAN: rows silently clamped to this
    anchor: datetime = field(default_factory=month_start)  # no dataset is created or modified after it
    publisher_weights: tuple[float, ...] = ()  # how many datasets each publisher has, relatively

    @property
    def path(self) -> str:
        return f"/{self.family}/{self.slug}"

    @property
    def domain(self) -> str:
        """The portal's public domain, as data.gouv.fr records it in `harvest.domain`."""
        return f"{self.slug}.portail.example"


@dataclass(frozen=True)
class SimDataset:
    portal: PortalSpec
    index: int
    id: str  # the portal's identifier for the dataset
    title: str
    description: str
    publisher: Publisher
    licence: str
    tags: tuple[str, ...]
    themes: tuple[str, ...]
    resources: tuple[tuple[str, str, tuple[str, str] | None], ...]  # (url, format, schema)
    created: datetime
    modified: datetime
    federated_from: str | None = None

    @property
    def ckan_name(self) -> str:
        return f"{stable_hex(self.portal.slug, self.index, length=8)}-{self.index}"

    def landing_page(self, base: str) -> str:
        """The dataset's page on its portal served at `base` (what udata records as `remote_url`)."""
        if self.portal.family == "ods":
            return f"{base}/explore/dataset/{self.id}/"
        if self.portal.family == "ckan":
            return f"{base}/dataset/{self.ckan_name}"
        if self.portal.family == "csw":
            return f"{base}/geonetwork/srv/api/records/{self.id}"
        return f"{base}/datasets/{stable_hex(self.id, length=12)}"


def dataset(portal: PortalSpec, index: int) -> SimDataset:
    """Dataset `index` of `portal`: always the same for the same seed."""
    rng = random.Random(f"{portal.seed}:{portal.slug}:{index}")
    publisher = publisher_of(portal, index)
    subject = rng.choice(SUBJECTS)
    year = portal.anchor.year - rng.randrange(CATALOGUE_YEARS)
    # Created over the years before the anchor, modified between then and the anchor: about half the
    # datasets were modified in the last year, the older ones less often.
    age = timedelta(days=rng.randrange(1, 365 * CATALOGUE_YEARS), seconds=rng.randrange(86400))
    created = portal.anchor - age
    modified = created + age * rng.random()
    untitled = portal.quirks.untitled_every and index % portal.quirks.untitled_every == portal.quirks.untitled_every - 1
    title = "" if untitled else f"{subject} {year} - {publisher.name.strip()}" + (" " if rng.random() < 0.1 else "")
    identifier = {
        "udata": f"{rng.getrandbits(96):024x}",
        "ods": f"{_slug(subject)}-{year}-{index}",
        "ckan": str(_uuid(rng)),
        "dcat": f"https://{portal.domain}/explore/dataset/{_slug(subject)}-{index}/",
        "arcgis": f"https://www.arcgis.com/home/item.html?id={rng.getrandbits(128):032x}&sublayer={index % 4}",
        # GeoNetwork's UUID, derived without drawing from `rng`: the other families' datasets stay as they were.
        "csw": str(uuid.UUID(stable_hex(portal.slug, index, "csw", length=32))),
    }[portal.family]
    description = f"Jeu de données « {subject.lower()} » ({year}) publié par {publisher.name.strip()}."
    if rng.random() < 0.3:
        description = f"<p>{description}</p><p>Mise à jour <b>régulière</b>.</p>"
    files = rng.randint(1, 3)
    if portal.quirks.huge_every and index % portal.quirks.huge_every == portal.quirks.huge_every - 1:
        files = portal.quirks.huge_files
    resources = tuple(
        (f"https://{portal.domain}/files/{_slug(subject)}-{index}-{n}", rng.choice(FORMATS), _schema(rng))
        for n in range(files)
    )
    federated = portal.family == "ods" and rng.random() < portal.federated_share
    return SimDataset(
        portal=portal,
        index=index,
        id=identifier,
        title=title,
        description=description,
        publisher=publisher,
        licence=rng.choice(LICENCES),
        tags=tuple(rng.sample([t.lower() for t in THEMES], 2)),
        themes=(rng.choice(THEMES),),
        resources=resources,
        created=created,
        modified=modified,
        federated_from=f"federe-{index % 7}.portail.example" if federated else None,
    )


# Reuses on udata portals: about one for eight datasets, each made with one to three of the portal's
# datasets, of the types udata knows (most are applications and visualisations on data.gouv.fr).
REUSE_EVERY = 8
REUSE_TYPES = ("application", "visualization", "visualization", "application", "api", "news_article", "paper",
               "post", "idea", "hardware")  # fmt: skip


@dataclass(frozen=True)
class SimReuse:
    portal: PortalSpec
    index: int
    id: str
    title: str
    type: str
    url: str
    datasets: tuple[int, ...]  # indexes of the portal's datasets it uses
    created: datetime


def reuses(portal: PortalSpec) -> list[SimReuse]:
    """The reuses a udata portal lists (other families publish none here): always the same."""
    if portal.family != "udata" or portal.size == 0:
        return []
    found = []
    for index in range(portal.size // REUSE_EVERY):
        rng = random.Random(f"{portal.seed}:{portal.slug}:reuse:{index}")
        used = tuple(sorted(rng.sample(range(portal.size), min(portal.size, rng.randint(1, 3)))))
        kind = rng.choice(REUSE_TYPES)
        first = dataset(portal, used[0])
        latest = max(dataset(portal, i).created for i in used)
        found.append(SimReuse(
            portal=portal, index=index, id=stable_hex(portal.slug, "reuse", index),
            title=f"{kind.capitalize()} : {first.title.strip() or 'données'}", type=kind,
            url=f"https://reutilisation-{index}.{portal.domain}/", datasets=used,
            created=min(portal.anchor, latest + timedelta(days=rng.randrange(90))),
        ))  # fmt: skip
    return found


@dataclass(frozen=True)
class SimAudience:
    views: int
    downloads: int
    followers: int


def audience_of(d: SimDataset) -> SimAudience:
    """What the portal counts of a dataset: a few hundred views for most, a few very popular ones."""
    rng = random.Random(f"{d.portal.seed}:{d.portal.slug}:{d.index}:audience")
    views = int(rng.paretovariate(1.2) * 40)
    return SimAudience(views=views, downloads=int(views * rng.uniform(0.1, 2.0)), followers=rng.randrange(4))


def publisher_of(portal: PortalSpec, index: int) -> Publisher:
    """The publisher of dataset `index`: each publisher has one of the first datasets, the others go
    to publishers in proportion to their weight (a région publishes more than a village)."""
    publishers = portal.publishers
    if not publishers:
        return Publisher("Éditeur inconnu", None, "0" * 24)
    if index < len(publishers) or len(portal.publisher_weights) != len(publishers):
        return publishers[index % len(publishers)]
    draw = random.Random(f"{portal.seed}:{portal.slug}:{index}:publisher").random()
    return publishers[bisect.bisect_left(_cumulative(portal.publisher_weights), draw)]


@cache
def _cumulative(weights: tuple[float, ...]) -> tuple[float, ...]:
    total = sum(weights)
    return (*(running / total for running in itertools.accumulate(weights[:-1])), 1.0)


def _schema(rng: random.Random) -> tuple[str, str] | None:
    return rng.choice(SCHEMAS) if rng.random() < SCHEMA_SHARE else None


def is_mirrored(portal: PortalSpec, index: int) -> bool:
    """Whether dataset `index` of `portal` is also harvested by data.gouv.fr."""
    digest = hashlib.blake2b(f"{portal.seed}:{portal.slug}:{index}:mirror".encode(), digest_size=2).digest()
    return int.from_bytes(digest) / 65536 < portal.mirrored_share


@dataclass
class World:
    """Every simulated portal; `datagouv` (udata) serves its own datasets then the mirrored ones."""

    portals: list[PortalSpec]
    datagouv_slug: str = "datagouv"
    request_counts: dict[str, int] = field(default_factory=dict)

    def portal(self, family: str, slug: str) -> PortalSpec | None:
        return self._by_key.get((family, slug))

    @cached_property
    def _by_key(self) -> dict[tuple[str, str], PortalSpec]:
        return {(p.family, p.slug): p for p in self.portals}

    @cached_property
    def mirrors(self) -> list[tuple[PortalSpec, int]]:
        """(local portal, index) of every dataset data.gouv.fr also holds, in a stable order."""
        return [
            (p, i)
            for p in self.portals
            if p.mirrored_share and p.family != "udata"
            for i in range(p.size)
            if is_mirrored(p, i)
        ]

    def federation_source(self, portal: PortalSpec) -> PortalSpec | None:
        """The ODS portal whose datasets `portal` federates: the ODS portal listed before it."""
        return self._federation_sources.get(portal.slug)

    @cached_property
    def _federation_sources(self) -> dict[str, PortalSpec]:
        ods = [p for p in self.portals if p.family == "ods" and p.size]
        return {later.slug: earlier for earlier, later in itertools.pairwise(ods)}

    def count(self, portal: PortalSpec) -> int:
        """Request number on this portal, from 1."""
        self.request_counts[portal.path] = self.request_counts.get(portal.path, 0) + 1
        return self.request_counts[portal.path]

    def total_datasets(self, portal: PortalSpec) -> int:
        return portal.size + (len(self.mirrors) if portal.slug == self.datagouv_slug else 0)


def schema_url(schema: tuple[str, str]) -> str:
    """The schema's URL: schema.data.gouv.fr's for a named schema, else the URL it is declared by."""
    if schema[0].startswith("https://"):
        return schema[0]
    return f"https://schema.data.gouv.fr/schemas/{schema[0]}/{schema[1]}/schema.json"


def stable_hex(*parts: object, length: int = 24) -> str:
    """A hex id derived from `parts`, the same in every process (unlike `hash`)."""
    return hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=length // 2).hexdigest()


@cache
def _slug(text: str) -> str:
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "-".join("".join(c if c.isalnum() else " " for c in ascii_text.lower()).split())


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


# --- publishers from the référentiel ---------------------------------------------------------


@dataclass(frozen=True)
class PoolEntry:
    """An organisation of the référentiel that publishes in the simulated world."""

    name: str
    siren: str | None
    kind: str  # REG, DEP, EPCI or COM
    code: str  # the région's, département's or commune's INSEE code, the EPCI's SIREN
    departement: str
    population: int
    of: str = "de "  # how French says "of" before the name (INSEE's typeLiaison): "du Nord", "de la Gironde"


# Share of each kind of collectivité that publishes open data, from the Observatoire's published
# figures (the domain reference, section 4): 100 % of régions and 60 % of départements in 2020;
# 60 % of collectivités above 100,000 inhabitants, 21 % of those of 20,000 to 80,000 and 7 % below
# (Banque des territoires, 2020). Below 3,500 inhabitants nothing is published: we take one
# commune in a hundred above 1,000 inhabitants and one in five hundred below.
REGION_SHARE = 1.0
DEPARTEMENT_SHARE = 0.6
SIZE_SHARES = ((100_000, 0.6), (20_000, 0.21), (3_500, 0.07), (1_000, 0.01), (0, 0.002))


def publishing_share(kind: str, population: int) -> float:
    """The chance that a collectivité of this kind and size publishes."""
    if kind == "REG":
        return REGION_SHARE
    if kind == "DEP":
        return DEPARTEMENT_SHARE
    return next(share for floor, share in SIZE_SHARES if population >= floor)


def publisher_pool(referentiel: Path | None, seed: int, count: int) -> list[PoolEntry]:
    """The organisations of the référentiel that publish, each drawn with its kind and size's
    `publishing_share`: about 800 of France's 36,000 collectivités, as many as the Observatoire counts.
    Without the référentiel, `count` made-up communes."""
    if referentiel is None or not (referentiel / "data" / "communes.json").exists():
        return [
            PoolEntry(f"Commune de Test {n}", with_luhn_digit(f"21{n:06d}"), "COM", f"35{n:03d}", "35", 1000)
            for n in range(count)
        ]
    data = referentiel / "data"
    communes = [
        c
        for c in json.loads((data / "communes.json").read_text())
        if c["type"] == "commune-actuelle" and c.get("siren")
    ]
    in_region: Counter[str] = Counter()
    in_departement: Counter[str] = Counter()
    for c in communes:
        in_region[c.get("region") or ""] += c.get("population") or 0
        in_departement[c.get("departement") or ""] += c.get("population") or 0
    candidates = [
        *(
            PoolEntry(r["nom"], None, "REG", r["code"], "", in_region[r["code"]], _of(r))
            for r in _read(data / "regions.json")
            if r["zone"] != "com"
        ),
        *(
            PoolEntry(d["nom"], None, "DEP", d["code"], d["code"], in_departement[d["code"]], _of(d))
            for d in _read(data / "departements.json")
            if d["zone"] != "com"
        ),
        *(
            PoolEntry(e["nom"], e["code"], "EPCI", e["code"], "", e.get("populationTotale") or 0)
            for e in _read(data / "epci.json")
        ),
        *(
            PoolEntry(c["nom"], c["siren"], "COM", c["code"], c["departement"], c.get("population") or 0)
            for c in communes
        ),
    ]
    rng = random.Random(seed)
    return [c for c in candidates if rng.random() < publishing_share(c.kind, c.population)]


LIAISONS = ("de ", "d'", "du ", "de la ", "des ", "de l'")  # INSEE's typeLiaison 0 to 5


def _of(area: dict[str, Any]) -> str:
    """ "du ", "de la "... for a région or a département, the article dropped from the name it precedes."""
    return LIAISONS[int(area.get("typeLiaison") or 0)]


def _read(path: Path) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(path.read_text())
    return entries


def dataset_weight(entry: PoolEntry) -> float:
    """How much an organisation publishes, relatively: with the square root of its population, so a
    région of 5 million inhabitants has about 40 times the datasets of a town of 3,000."""
    return math.sqrt(max(entry.population, 100))


def spelled(name: str, kind: str, rng: random.Random, of: str = "de ") -> str:
    """How portals write an organisation's name."""
    if kind == "COM":
        return rng.choice(
            [
                f"Ville de {name}",
                f"Commune de {name}",
                f"Mairie de {name}",
                name,
                name.upper(),
                f"{name} ",
                f"Ville de {name}\u200b",
            ]
        )
    if kind == "DEP":
        return rng.choice([f"Département {of}{name}", f"Conseil départemental {of}{name}"])
    if kind == "REG":
        return rng.choice([f"Région {name}", f"Conseil régional {of}{name}"])
    return rng.choice([name, name.upper()])


def publishers_for(
    entries: list[PoolEntry], seed: int, with_siret: float
) -> tuple[tuple[Publisher, ...], tuple[float, ...]]:
    """Organisations of the pool as a portal spells them, with the weight of each in its datasets."""
    rng = random.Random(seed)
    publishers = []
    for entry in entries:
        siret = f"{entry.siren}00017" if entry.siren and rng.random() < with_siret else None
        spelling = spelled(entry.name, entry.kind, rng, entry.of)
        publishers.append(Publisher(spelling, siret, f"{rng.getrandbits(96):024x}"))
    return tuple(publishers), tuple(dataset_weight(entry) for entry in entries)


# Where France's publishers list their datasets, from the Observatoire's 2022 file of 891 organisations
# (the domain reference, indicator 20): 351 on a local platform only, 146 on both, 394 on data.gouv.fr only.
LOCAL_ONLY, BOTH = 351 / 891, 146 / 891


@dataclass(frozen=True)
class Hosting:
    """Which organisations each local portal lists, and which data.gouv.fr lists."""

    local: list[list[PoolEntry]]
    national: list[PoolEntry]
    mirrored: list[bool]  # whether data.gouv.fr harvests each local portal


def few_publishers(pool: list[PoolEntry], portals: int, seed: int) -> Hosting:
    """One to four organisations per local portal, 20 on data.gouv.fr, drawn independently: small
    worlds for tests and benchmarks. data.gouv.fr harvests every local portal but udata ones."""
    local = [random.Random(seed + n).sample(pool, min(1 + n % 4, len(pool))) for n in range(portals)]
    national = random.Random(seed).sample(pool, min(20, len(pool)))
    return Hosting(local, national, [LOCAL_FAMILIES[n % len(LOCAL_FAMILIES)] != "udata" for n in range(portals)])


def france_publishers(pool: list[PoolEntry], portals: int, seed: int) -> Hosting:
    """Every organisation of the pool, on the channels in France's proportions: those on both channels
    on local portals data.gouv.fr harvests (even ones), those on a local platform only on the others."""
    shuffled = random.Random(seed).sample(pool, len(pool))
    local_only, both = round(len(pool) * LOCAL_ONLY), round(len(pool) * BOTH)
    on_local, national = shuffled[: local_only + both], shuffled[local_only:]
    local: list[list[PoolEntry]] = [[] for _ in range(portals)]
    mirrored = [n % 2 == 0 and LOCAL_FAMILIES[n % len(LOCAL_FAMILIES)] != "udata" for n in range(portals)]
    harvested = [n for n in range(portals) if mirrored[n]] or list(range(portals))
    alone = [n for n in range(portals) if not mirrored[n]] or list(range(portals))
    for i, entry in enumerate(on_local):
        hosts = alone if i < local_only else harvested
        local[hosts[i % len(hosts)]].append(entry)
    return Hosting(local, national, mirrored)


LOCAL_FAMILIES = ("ods", "ckan", "dcat", "arcgis", "udata", "csw")


def build_world(
    *,
    portals: int,
    datasets_per_portal: int,
    seed: int = 2026,
    referentiel: Path | None = None,
    mirrored_share: float = 0.3,
    quirks: Quirks | None = None,
    publishers: str = "few",
    national_datasets: int | None = None,
) -> World:
    """A world of `portals` local portals, spread over the families, plus data.gouv.fr with
    `national_datasets` datasets of its own (half a local portal's by default). `publishers`: "few"
    (`few_publishers`) or "france" (`france_publishers`, the demo's)."""
    pool = publisher_pool(referentiel, seed, max(50, portals * 3))
    hosting = (france_publishers if publishers == "france" else few_publishers)(pool, portals, seed)
    specs: list[PortalSpec] = []
    formats = ("turtle", "xml", "json-ld")
    for n in range(portals):
        family = LOCAL_FAMILIES[n % len(LOCAL_FAMILIES)]
        names, weights = publishers_for(hosting.local[n], seed + n, 0.8 if family == "udata" else 0.0)
        specs.append(
            PortalSpec(
                family=family,
                slug=f"{family}-{n:04d}",
                size=datasets_per_portal,
                seed=seed,
                publishers=names,
                publisher_weights=weights,
                quirks=quirks or Quirks(),
                mirrored_share=mirrored_share if hosting.mirrored[n] else 0.0,
                federated_share=0.1 if family == "ods" else 0.0,
                dcat_format=formats[n % 3],
            )
        )
    names, weights = publishers_for(hosting.national, seed, with_siret=0.8)
    specs.append(
        PortalSpec(
            family="udata",
            slug="datagouv",
            size=national_datasets or max(10, datasets_per_portal // 2),
            seed=seed,
            publishers=names,
            publisher_weights=weights,
            quirks=quirks or Quirks(),
        )
    )
    return World(specs)
