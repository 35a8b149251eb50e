"""The facts the indicators keep: of each dataset (`DatasetFacts`), organisation and platform, and what
an organisation publishes, tallied over its datasets (`Publication`): counts only, so that a changed
dataset moves it by subtracting its old facts and adding its new ones. Pure, like measures.py."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

from shared.vocabulary import OPEN_LICENCES

OPEN_FORMATS = frozenset({"csv", "json", "geojson", "xml", "ods", "kml", "gml", "gtfs", "shp", "wfs"})
FRESH_DAYS = 365

Values = dict[str, float | int | None]
Scope = tuple[str, str]  # (scope, scope id)
NATIONAL: Scope = ("national", "FR")


@dataclass(frozen=True)
class DatasetFacts:
    id: str
    organization_id: str | None
    withdrawn: bool
    licence: str | None = None
    formats: tuple[str, ...] = ()
    modified: datetime | None = None
    themes: tuple[str, ...] = ()
    schemas: tuple[str, ...] = ()  # schema names its resources declare
    portals: tuple[str, ...] = ()  # portals that list it (records not withdrawn)
    technologies: tuple[str, ...] = ()  # their families (udata, ods, ckan, dcat, arcgis, csw)
    national: bool = False  # listed on the national portal (data.gouv.fr)
    local: bool = False  # listed on another portal
    records: tuple[str, ...] = ()  # its live portal records, as source_id:remote_id
    reuses: tuple[str, ...] = ()  # the reuses (source_id:remote_id) portals list with any of its records
    audience: tuple[tuple[str, int], ...] = ()  # ("udata:views", 120): its records' counters, per software
    communes: tuple[str, ...] = ()  # an intercommunality's dataset: the member communes its title names


@dataclass(frozen=True)
class PlatformFacts:
    """A portal the records come from (a harvested source), by its address: the family of software
    that serves it and whether it is the national portal."""

    url: str
    technology: str
    national: bool = False


@dataclass(frozen=True)
class OrganizationFacts:
    id: str
    name: str
    type: str | None = None
    departement: str | None = None
    region: str | None = None
    epci: str | None = None
    population: int | None = None
    obligated: bool | None = None
    council_id: str | None = None
    active: bool = True

    @property
    def council(self) -> str:
        """The council it belongs to: a single council (Collectivité de Corse, CeA, Guyane, Martinique,
        Mayotte, Ville de Paris) is several rows, one per COG entry it serves, sharing a `council_id`."""
        return self.council_id or self.id

    @cached_property
    def territories(self) -> tuple[Scope, ...]:
        """Its type and territories as scopes (cached: each recomputation asks for tens of thousands)."""
        scopes = [("type", self.type)] if self.type else []
        if self.departement:
            scopes.append(("departement", self.departement))
        if self.region:
            scopes.append(("region", self.region))
        return tuple(scopes)


@dataclass(frozen=True)
class Publication:
    """What an organisation publishes, tallied over its live datasets: counts only, so that a changed
    dataset moves it by subtracting its old facts and adding its new ones (`tallied`), never by
    reading the organisation's other datasets again."""

    datasets: int = 0
    open_format: int = 0
    open_licence: int = 0
    with_schema: int = 0
    local: int = 0  # datasets listed on a local portal
    national: int = 0  # datasets listed on data.gouv.fr
    fresh: int = 0  # datasets modified within FRESH_DAYS, as of the last change
    reused: int = 0  # datasets with at least one reuse
    modified_days: Counter[str] = field(default_factory=Counter)  # ISO day -> datasets last modified that day
    scdl_schemas: Counter[str] = field(default_factory=Counter)
    portals: Counter[str] = field(default_factory=Counter)
    technologies: Counter[str] = field(default_factory=Counter)
    themes: Counter[str] = field(default_factory=Counter)
    reuses: Counter[str] = field(default_factory=Counter)  # reuse -> its datasets among these
    audience: Counter[str] = field(default_factory=Counter)  # "udata:views" -> the sum over these datasets
    communes: Counter[str] = field(default_factory=Counter)  # member commune -> datasets naming it

    @property
    def publishes(self) -> bool:
        return self.datasets > 0


EMPTY = Publication()
COUNTS = ("datasets", "open_format", "open_licence", "with_schema", "local", "national", "fresh", "reused")
TALLIES = ("modified_days", "scdl_schemas", "portals", "technologies", "themes", "reuses", "audience", "communes")


def merged(publications: Iterable[Publication]) -> Publication:
    """One council's publication: what its rows publish, together."""
    publishing = [p for p in publications if p.datasets]
    if len(publishing) < 2:
        return publishing[0] if publishing else EMPTY
    counts = {name: sum(getattr(p, name) for p in publishing) for name in COUNTS}
    tallies: dict[str, Counter[str]] = {
        name: sum((getattr(p, name) for p in publishing), Counter()) for name in TALLIES
    }
    return Publication(**counts, **tallies)  # type: ignore[arg-type]  # mypy: two ** of two types


def publication_of(datasets: Iterable[DatasetFacts], now: datetime) -> Publication:
    return tallied(EMPTY, (), datasets, now)


def tallied(
    publication: Publication, removed: Iterable[DatasetFacts], added: Iterable[DatasetFacts], now: datetime
) -> Publication:
    """The publication once these datasets' facts are taken out and those put in (withdrawn ones count
    nowhere). `fresh` is recounted as of `now` from the days of modification."""
    counts = {
        "datasets": publication.datasets,
        "open_format": publication.open_format,
        "open_licence": publication.open_licence,
        "with_schema": publication.with_schema,
        "local": publication.local,
        "national": publication.national,
        "reused": publication.reused,
    }
    tallies = {
        "modified_days": Counter(publication.modified_days),
        "scdl_schemas": Counter(publication.scdl_schemas),
        "portals": Counter(publication.portals),
        "technologies": Counter(publication.technologies),
        "themes": Counter(publication.themes),
        "reuses": Counter(publication.reuses),
        "audience": Counter(publication.audience),
        "communes": Counter(publication.communes),
    }
    for sign, datasets in ((-1, removed), (1, added)):
        for dataset in datasets:
            if not dataset.withdrawn:
                _count(counts, tallies, dataset, sign)
    for tally in tallies.values():
        for key in [k for k, n in tally.items() if n == 0]:
            del tally[key]
    fresh_from = (now - timedelta(days=FRESH_DAYS)).date().isoformat()
    fresh = sum(n for day, n in tallies["modified_days"].items() if day >= fresh_from)
    return Publication(**counts, fresh=fresh, **tallies)  # type: ignore[arg-type]  # mypy: two ** of two types


def _count(counts: dict[str, int], tallies: dict[str, Counter[str]], dataset: DatasetFacts, sign: int) -> None:
    counts["datasets"] += sign
    counts["open_format"] += sign * bool(OPEN_FORMATS.intersection(dataset.formats))
    counts["open_licence"] += sign * (dataset.licence in OPEN_LICENCES)
    counts["with_schema"] += sign * bool(dataset.schemas)
    counts["local"] += sign * dataset.local
    counts["national"] += sign * dataset.national
    counts["reused"] += sign * bool(dataset.reuses)
    if dataset.modified is not None:
        tallies["modified_days"][dataset.modified.date().isoformat()] += sign
    for counter, count in dataset.audience:
        tallies["audience"][counter] += sign * count
    for tally, keys in (
        (tallies["scdl_schemas"], {s for s in dataset.schemas if s.startswith("scdl/")}),
        (tallies["portals"], set(dataset.portals)),
        (tallies["technologies"], set(dataset.technologies)),
        (tallies["themes"], set(dataset.themes)),
        (tallies["reuses"], set(dataset.reuses)),
        (tallies["communes"], set(dataset.communes)),
    ):
        for key in keys:
            tally[key] += sign
