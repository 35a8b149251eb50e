"""Generated catalogues, deterministic for a seed and lazy: dataset `i` of a portal is computed when
asked for, so a world of 1,000 portals and 200,000 datasets costs no memory until it is served.

Publishers are organisations of the référentiel spelled as portals spell them ("Ville de Rennes",
"RENNES", "Commune de Rennes ", "Département d'Ille-et-Vilaine"...); titles and descriptions are
French; some fields are dirty on purpose (trailing spaces, HTML descriptions, missing licences,
format spellings). A share of each local portal's datasets also appears on the simulated
data.gouv.fr with `harvest.remote_id`, `remote_url` and `domain` pointing back to the local portal.
"""

import hashlib
import itertools
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache, cached_property
from pathlib import Path

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
SCHEMAS = (
    None,
    None,
    None,
    ("scdl/budget", "0.8.3"),
    ("scdl/deliberations", "2.1.5"),
    ("etalab/schema-irve-statique", "2.3.1"),
    ("scdl/subventions", "2.1.1"),
)
EPOCH = datetime(2022, 1, 1, tzinfo=UTC)


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
    publisher = (
        portal.publishers[index % len(portal.publishers)]
        if portal.publishers
        else Publisher("Éditeur inconnu", None, "0" * 24)
    )
    subject = rng.choice(SUBJECTS)
    year = 2018 + rng.randrange(8)
    created = EPOCH + timedelta(days=rng.randrange(0, 900), seconds=rng.randrange(86400))
    modified = created + timedelta(days=rng.randrange(0, 500), seconds=rng.randrange(86400))
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
        (f"https://{portal.domain}/files/{_slug(subject)}-{index}-{n}", rng.choice(FORMATS), rng.choice(SCHEMAS))
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


def publisher_pool(referentiel: Path | None, seed: int, count: int) -> list[tuple[str, str | None, str, str]]:
    """(name as written, SIREN or None, type, département) for `count` organisations of the
    référentiel (communes above 3,500 inhabitants, EPCI, départements, régions)."""
    rng = random.Random(seed)
    if referentiel is None or not (referentiel / "data" / "communes.json").exists():
        return [(f"Commune de Test {n}", with_luhn_digit(f"21{n:06d}"), "COM", "35") for n in range(count)]
    data = referentiel / "data"
    communes = [
        c
        for c in json.loads((data / "communes.json").read_text())
        if c["type"] == "commune-actuelle" and c.get("siren") and (c.get("population") or 0) > 3500
    ]
    epci = json.loads((data / "epci.json").read_text())
    departements = [d for d in json.loads((data / "departements.json").read_text()) if d["zone"] != "com"]
    chosen: list[tuple[str, str | None, str, str]] = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.7:
            c = rng.choice(communes)
            chosen.append((c["nom"], c["siren"], "COM", c["departement"]))
        elif kind < 0.9:
            e = rng.choice(epci)
            chosen.append((e["nom"], e["code"], "EPCI", ""))
        else:
            d = rng.choice(departements)
            chosen.append((d["nom"], None, "DEP", d["code"]))
    return chosen


def spelled(name: str, kind: str, rng: random.Random) -> str:
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
        connector = "d'" if name[0] in "AEIOUYÉÈÎ" else "de "
        return rng.choice([f"Département {connector}{name}", f"Conseil départemental {connector}{name}"])
    return rng.choice([name, name.upper()])


def publishers_for(
    pool: list[tuple[str, str | None, str, str]], seed: int, count: int, with_siret: float
) -> tuple[Publisher, ...]:
    rng = random.Random(seed)
    result = []
    for name, siren, kind, _ in rng.sample(pool, min(count, len(pool))):
        siret = f"{siren}00017" if siren and rng.random() < with_siret else None
        result.append(Publisher(spelled(name, kind, rng), siret, f"{rng.getrandbits(96):024x}"))
    return tuple(result)


def build_world(
    *,
    portals: int,
    datasets_per_portal: int,
    seed: int = 2026,
    referentiel: Path | None = None,
    mirrored_share: float = 0.3,
    quirks: Quirks | None = None,
) -> World:
    """A world of `portals` local portals, spread over the families, plus data.gouv.fr."""
    pool = publisher_pool(referentiel, seed, max(50, portals * 3))
    specs: list[PortalSpec] = []
    local_families = ("ods", "ckan", "dcat", "arcgis", "udata", "csw")
    formats = ("turtle", "xml", "json-ld")
    for n in range(portals):
        family = local_families[n % len(local_families)]
        specs.append(
            PortalSpec(
                family=family,
                slug=f"{family}-{n:04d}",
                size=datasets_per_portal,
                seed=seed,
                publishers=publishers_for(pool, seed + n, 1 + n % 4, with_siret=0.8 if family == "udata" else 0.0),
                quirks=quirks or Quirks(),
                mirrored_share=mirrored_share if family != "udata" else 0.0,
                federated_share=0.1 if family == "ods" else 0.0,
                dcat_format=formats[n % 3],
            )
        )
    specs.append(
        PortalSpec(
            family="udata",
            slug="datagouv",
            size=max(10, datasets_per_portal // 2),
            seed=seed,
            publishers=publishers_for(pool, seed, 20, with_siret=0.8),
            quirks=quirks or Quirks(),
        )
    )
    return World(specs)
