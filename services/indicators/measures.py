"""The Observatoire's indicators as plain functions over projected facts (definitions: docs/indicators.md).

Two levels: an organisation's `Publication` summarises its datasets; a scope (an organisation, a
département, a région, an organisation type, the nation) is computed from its organisations and their
publications. `touched_scopes` says which scopes a change can move, so that recomputing only those
gives the same values as recomputing everything (property-tested).
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

Values = dict[str, float | int | None]
Scope = tuple[str, str]  # (scope, scope id)
NATIONAL: Scope = ("national", "FR")

OPEN_FORMATS = frozenset({"csv", "json", "geojson", "xml", "ods", "kml", "gml", "gtfs", "shp", "wfs"})
OPEN_LICENCES = frozenset({"licence-ouverte", "odbl", "cc-by", "cc-by-sa", "cc0"})
COLLECTIVITE_TYPES = frozenset({"COM", "CC", "CA", "CU", "MET", "EPT", "DEP", "REG", "COLOM"})
ASSOCIATED_TYPES = frozenset({"AGCT", "OACT", "DSPT"})
EPCI_TYPES = frozenset({"CC", "CA", "CU", "MET", "EPT"})
FRESH_DAYS = 365
# The Observatoire's population bins (tranche_pop), upper bounds exclusive.
POPULATION_BINS = (
    ("na", 1_000),
    ("p_1_5", 5_000),
    ("p_5_10", 10_000),
    ("p_10_25", 25_000),
    ("p_25_50", 50_000),
    ("p_50_100", 100_000),
    ("p_100_250", 250_000),
    ("p_250_500", 500_000),
    ("p_500_1000", 1_000_000),
    ("p_1000_5000.001", None),
)


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
    technologies: tuple[str, ...] = ()  # their families (udata, ods, ckan, dcat, arcgis)
    national: bool = False  # listed on the national portal (data.gouv.fr)
    local: bool = False  # listed on another portal


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
    modified_days: Counter[str] = field(default_factory=Counter)  # ISO day -> datasets last modified that day
    scdl_schemas: Counter[str] = field(default_factory=Counter)
    portals: Counter[str] = field(default_factory=Counter)
    technologies: Counter[str] = field(default_factory=Counter)
    themes: Counter[str] = field(default_factory=Counter)

    @property
    def publishes(self) -> bool:
        return self.datasets > 0


EMPTY = Publication()


@dataclass
class Coverage:
    """Who publishes, for the population covered: a commune is covered when it, its EPCI, its
    département or its région publishes."""

    publishing: set[str] = field(default_factory=set)
    departements: set[str] = field(default_factory=set)  # whose département council publishes
    regions: set[str] = field(default_factory=set)
    covered: set[str] | None = None  # once computed by `cover`, the communes covered

    def cover(self, communes: Iterable[OrganizationFacts]) -> None:
        """Decide once which communes are covered, for the scopes that share them."""
        self.covered = None
        self.covered = {c.id for c in communes if c.type == "COM" and self.covers(c)}

    @classmethod
    def of(cls, organizations: Iterable[tuple[OrganizationFacts, Publication]]) -> "Coverage":
        coverage = cls()
        for organization, publication in organizations:
            if not (publication.publishes and organization.active):
                continue
            coverage.publishing.add(organization.id)
            if organization.type == "DEP" and organization.departement:
                coverage.departements.add(organization.departement)
            if organization.type in ("REG", "COLOM") and organization.region:
                coverage.regions.add(organization.region)
        return coverage

    def covers(self, commune: OrganizationFacts) -> bool:
        if self.covered is not None:
            return commune.id in self.covered
        return (
            commune.id in self.publishing
            or (commune.epci is not None and commune.epci in self.publishing)
            or (commune.departement is not None and commune.departement in self.departements)
            or (commune.region is not None and commune.region in self.regions)
        )


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
    }
    tallies = {
        "modified_days": Counter(publication.modified_days),
        "scdl_schemas": Counter(publication.scdl_schemas),
        "portals": Counter(publication.portals),
        "technologies": Counter(publication.technologies),
        "themes": Counter(publication.themes),
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
    if dataset.modified is not None:
        tallies["modified_days"][dataset.modified.date().isoformat()] += sign
    for tally, keys in (
        (tallies["scdl_schemas"], {s for s in dataset.schemas if s.startswith("scdl/")}),
        (tallies["portals"], set(dataset.portals)),
        (tallies["technologies"], set(dataset.technologies)),
        (tallies["themes"], set(dataset.themes)),
    ):
        for key in keys:
            tally[key] += sign


def organization_values(organization: OrganizationFacts, publication: Publication) -> Values:
    n = publication.datasets
    return {
        "datasets": n,
        "publishes": int(publication.publishes),
        "on_local_portal": int(publication.local > 0),
        "on_national_portal": int(publication.national > 0),
        "platforms": len(publication.portals),
        "open_format_share": _share(publication.open_format, n),
        "open_licence_share": _share(publication.open_licence, n),
        "fresh_share": _share(publication.fresh, n),
        "schema_share": _share(publication.with_schema, n),
        "scdl_schemas": len(publication.scdl_schemas),
        "obligated": None if organization.obligated is None else int(organization.obligated),
        **{f"theme:{theme}": count for theme, count in sorted(publication.themes.items())},
    }


def scope_values(
    members: list[tuple[OrganizationFacts, Publication]], coverage: Coverage, unattributed: Publication | None = None
) -> Values:
    """A territory's or a type's values from its active organisations (and, nationally, the datasets no
    organisation is known for, which count in the dataset totals only)."""
    # One pass over the members (a national or commune-type scope has tens of thousands of them);
    # the sums below only need the publishing ones.
    organizations, population, covered = 0, 0, 0
    obligated: set[str] = set()
    obligated_publishing: set[str] = set()
    publishing: list[tuple[OrganizationFacts, Publication]] = []
    for o, p in members:
        if not o.active:
            continue
        organizations += 1
        if p.datasets:
            publishing.append((o, p))
        if o.obligated and o.type in COLLECTIVITE_TYPES:
            obligated.add(o.council_id or o.id)
            if p.datasets:
                obligated_publishing.add(o.council_id or o.id)
        if o.type == "COM" and o.population:
            population += o.population
            if coverage.covers(o):
                covered += o.population
    publications = [p for _, p in publishing] + ([unattributed] if unattributed and unattributed.datasets else [])
    datasets = sum(p.datasets for p in publications)
    portals = frozenset(portal for p in publications for portal in p.portals)
    values: Values = {
        "organizations": organizations,
        "organizations_publishing": len(publishing),
        "collectivites_publishing": sum(1 for o, _ in publishing if o.type in COLLECTIVITE_TYPES),
        "associated_publishing": sum(1 for o, _ in publishing if o.type in ASSOCIATED_TYPES),
        "datasets": datasets,
        "obligated": len(obligated),
        "obligated_publishing": len(obligated_publishing),
        "opening_rate": _share(len(obligated_publishing), len(obligated)),
        "population": population,
        "population_covered": covered,
        "coverage_rate": _share(covered, population),
        "channel_local_only": sum(1 for _, p in publishing if p.local and not p.national),
        "channel_national_only": sum(1 for _, p in publishing if p.national and not p.local),
        "channel_both": sum(1 for _, p in publishing if p.national and p.local),
        "platforms": len(portals),
        "open_format_share": _share(sum(p.open_format for p in publications), datasets),
        "open_licence_share": _share(sum(p.open_licence for p in publications), datasets),
        "fresh_share": _share(sum(p.fresh for p in publications), datasets),
        "schema_share": _share(sum(p.with_schema for p in publications), datasets),
        "scdl_publishers": sum(1 for _, p in publishing if p.scdl_schemas),
    }
    technologies = Counter(t for _, p in publishing for t in p.technologies)
    values |= {f"technology:{t}": n for t, n in sorted(technologies.items())}
    themes: Counter[str] = Counter()
    for p in publications:
        themes.update(p.themes)
    values |= {f"theme:{t}": n for t, n in sorted(themes.items())}
    bins = Counter(population_bin(o.population) for o, _ in publishing)
    values |= {f"population_bin:{b}": n for b, n in sorted(bins.items())}
    types = Counter(o.type or "-" for o, _ in publishing)
    values |= {f"type:{t}": n for t, n in sorted(types.items())}
    return values


def population_bin(population: int | None) -> str:
    if population is None:
        return "p_na"
    for label, upper in POPULATION_BINS:
        if upper is None or population < upper:
            return label
    return "p_na"


def touched_scopes(
    before: OrganizationFacts | None,
    after: OrganizationFacts | None,
    covered_communes: Iterable[OrganizationFacts] = (),
) -> set[Scope]:
    """Scopes whose values may change when an organisation's facts or publication change: the
    organisation, its territories and type before and after, the nation, and the territories of the
    communes it covers (an EPCI's or a région's communes may lie in other départements)."""
    scopes: set[Scope] = {NATIONAL}
    for organization in (before, after):
        if organization is None:
            continue
        scopes.add(("organization", organization.id))
        scopes.update(organization.territories)
    for commune in covered_communes:
        scopes.update(commune.territories)
    return scopes


class Communes:
    """The communes of the registry indexed by what covers them, for `covered_by`."""

    def __init__(self, organizations: Iterable[OrganizationFacts]) -> None:
        self.by_epci: dict[str, list[OrganizationFacts]] = {}
        self.by_departement: dict[str, list[OrganizationFacts]] = {}
        self.by_region: dict[str, list[OrganizationFacts]] = {}
        for commune in organizations:
            if commune.type != "COM":
                continue
            for index, key in (
                (self.by_epci, commune.epci),
                (self.by_departement, commune.departement),
                (self.by_region, commune.region),
            ):
                if key:
                    index.setdefault(key, []).append(commune)


def covered_by(organization: OrganizationFacts | None, communes: Communes) -> list[OrganizationFacts]:
    """The communes whose coverage depends on this organisation publishing (beyond its own territories)."""
    if organization is None:
        return []
    if organization.type in EPCI_TYPES:
        return communes.by_epci.get(organization.id, [])
    if organization.type == "DEP" and organization.departement:
        return communes.by_departement.get(organization.departement, [])
    if organization.type in ("REG", "COLOM") and organization.region:
        return communes.by_region.get(organization.region, [])
    return []


def all_scopes(organizations: Iterable[OrganizationFacts]) -> set[Scope]:
    scopes: set[Scope] = {NATIONAL}
    for organization in organizations:
        scopes.add(("organization", organization.id))
        scopes.update(organization.territories)
    return scopes


class Registry:
    """Every organisation's facts and publication ('' holds the datasets of no known organisation),
    indexed for recomputation: the members of each territory and type, and which communes are covered.
    The indexes are rebuilt only when a change can move them, so a service can keep one in memory and
    recompute a national scope without regrouping tens of thousands of organisations each time."""

    def __init__(self, organizations: dict[str, OrganizationFacts], publications: dict[str, Publication]) -> None:
        self.organizations = organizations
        self.publications = publications
        # (facts, publication) per organisation, kept ready: scopes iterate over them by the ten thousand
        self.pairs = {i: (o, publications.get(i, EMPTY)) for i, o in organizations.items()}
        self._members: dict[Scope, list[str]] | None = None
        self._coverage: Coverage | None = None
        self._communes: Communes | None = None

    def set_organization(self, organization: OrganizationFacts) -> None:
        before = self.organizations.get(organization.id)
        self.organizations[organization.id] = organization
        self.pairs[organization.id] = (organization, self.publications.get(organization.id, EMPTY))
        if before is None or before.territories != organization.territories:
            self._members = None
        if before != organization:
            self._coverage = None
            self._communes = None

    def communes(self) -> "Communes":
        if self._communes is None:
            self._communes = Communes(self.organizations.values())
        return self._communes

    def set_publication(self, organization_id: str, publication: Publication) -> None:
        before = self.publications.get(organization_id, EMPTY)
        self.publications[organization_id] = publication
        if organization_id in self.organizations:
            self.pairs[organization_id] = (self.organizations[organization_id], publication)
        if before.publishes != publication.publishes:
            self._coverage = None

    def members(self, scope: Scope) -> list[tuple[OrganizationFacts, Publication]]:
        if self._members is None:
            self._members = {}
            for organization in self.organizations.values():
                for territory in organization.territories:
                    self._members.setdefault(territory, []).append(organization.id)
        pairs = self.pairs
        return [pairs[i] for i in self._members.get(scope, [])]

    def coverage(self) -> Coverage:
        if self._coverage is None:
            self._coverage = Coverage.of(self.pairs.values())
            self._coverage.cover(self.organizations.values())
        return self._coverage

    def compute(self, scopes: Iterable[Scope]) -> dict[Scope, Values]:
        """The values of these scopes."""
        result: dict[Scope, Values] = {}
        for scope in set(scopes):
            kind, scope_id = scope
            if kind == "organization":
                if scope_id in self.organizations:
                    result[scope] = organization_values(*self.pairs[scope_id])
            elif kind == "national":
                everyone = list(self.pairs.values())
                result[scope] = scope_values(everyone, self.coverage(), self.publications.get("", EMPTY))
            else:
                result[scope] = scope_values(self.members(scope), self.coverage())
        return result


def compute_scopes(
    organizations: dict[str, tuple[OrganizationFacts, Publication]],
    unattributed: Publication,
    scopes: Iterable[Scope],
) -> dict[Scope, Values]:
    """The values of these scopes, from every organisation and its publication (indexes built afresh)."""
    registry = Registry({i: o for i, (o, _) in organizations.items()}, {i: p for i, (_, p) in organizations.items()})
    registry.set_publication("", unattributed)
    return registry.compute(scopes)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None
