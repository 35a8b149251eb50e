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

from shared.population import population_bin
from shared.vocabulary import OPEN_LICENCES

Values = dict[str, float | int | None]
Scope = tuple[str, str]  # (scope, scope id)
NATIONAL: Scope = ("national", "FR")

OPEN_FORMATS = frozenset({"csv", "json", "geojson", "xml", "ods", "kml", "gml", "gtfs", "shp", "wfs"})
COLLECTIVITE_TYPES = frozenset({"COM", "CC", "CA", "CU", "MET", "EPT", "DEP", "REG", "COLOM"})
ASSOCIATED_TYPES = frozenset({"AGCT", "OACT", "DSPT"})
EPCI_TYPES = frozenset({"CC", "CA", "CU", "MET", "EPT"})
FRESH_DAYS = 365


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
    département or its région publishes. Kept by counts, so that an organisation can be taken out
    as well as put in (`Registry` follows changes this way)."""

    publishing: set[str] = field(default_factory=set)
    departements: Counter[str] = field(default_factory=Counter)  # publishing département councils per code
    regions: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, organizations: Iterable[tuple[OrganizationFacts, Publication]]) -> "Coverage":
        coverage = cls()
        for organization, publication in organizations:
            coverage.add(organization, publication, 1)
        return coverage

    def add(self, organization: OrganizationFacts, publication: Publication, sign: int) -> None:
        if not (publication.publishes and organization.active):
            return
        if sign > 0:
            self.publishing.add(organization.id)
        else:
            self.publishing.discard(organization.id)
        if organization.type == "DEP" and organization.departement:
            self.departements[organization.departement] += sign
        if organization.type in ("REG", "COLOM") and organization.region:
            self.regions[organization.region] += sign

    def covers(self, commune: OrganizationFacts) -> bool:
        return (
            commune.id in self.publishing
            or (commune.epci is not None and commune.epci in self.publishing)
            or (commune.departement is not None and self.departements[commune.departement] > 0)
            or (commune.region is not None and self.regions[commune.region] > 0)
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
        **{f"technology:{t}": 1 for t in sorted(publication.technologies)},
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
    """The communes of the registry indexed by what covers them, for `covered_by`; kept up to date
    one commune at a time (rebuilding it for each new organisation would be quadratic)."""

    def __init__(self, organizations: Iterable[OrganizationFacts] = ()) -> None:
        self.by_epci: dict[str, dict[str, OrganizationFacts]] = {}
        self.by_departement: dict[str, dict[str, OrganizationFacts]] = {}
        self.by_region: dict[str, dict[str, OrganizationFacts]] = {}
        for organization in organizations:
            self.add(organization)

    def add(self, commune: OrganizationFacts) -> None:
        for index, key in self._keys(commune):
            index.setdefault(key, {})[commune.id] = commune

    def remove(self, commune: OrganizationFacts) -> None:
        for index, key in self._keys(commune):
            index.get(key, {}).pop(commune.id, None)

    def _keys(self, commune: OrganizationFacts) -> list[tuple[dict[str, dict[str, OrganizationFacts]], str]]:
        if commune.type != "COM":
            return []
        keys = ((self.by_epci, commune.epci), (self.by_departement, commune.departement),
                (self.by_region, commune.region))  # fmt: skip
        return [(index, key) for index, key in keys if key]


def covered_by(organization: OrganizationFacts | None, communes: Communes) -> list[OrganizationFacts]:
    """The communes whose coverage depends on this organisation publishing (beyond its own territories)."""
    if organization is None:
        return []
    if organization.type in EPCI_TYPES:
        return list(communes.by_epci.get(organization.id, {}).values())
    if organization.type == "DEP" and organization.departement:
        return list(communes.by_departement.get(organization.departement, {}).values())
    if organization.type in ("REG", "COLOM") and organization.region:
        return list(communes.by_region.get(organization.region, {}).values())
    return []


def all_scopes(organizations: Iterable[OrganizationFacts]) -> set[Scope]:
    scopes: set[Scope] = {NATIONAL}
    for organization in organizations:
        scopes.add(("organization", organization.id))
        scopes.update(organization.territories)
    return scopes


@dataclass
class Tally:
    """A scope's running sums over its active organisations, so that its values follow a change by
    taking the organisation's previous contribution out and its new one in (`Registry`), never by
    iterating over the scope's members again. `scope_values` is the definition it must agree with."""

    organizations: int = 0
    publishing: int = 0
    collectivites_publishing: int = 0
    associated_publishing: int = 0
    population: int = 0
    covered: int = 0
    channel_local_only: int = 0
    channel_national_only: int = 0
    channel_both: int = 0
    scdl_publishers: int = 0
    datasets: int = 0
    open_format: int = 0
    open_licence: int = 0
    fresh: int = 0
    with_schema: int = 0
    obligated: Counter[str] = field(default_factory=Counter)  # council -> obligated members
    obligated_publishing: Counter[str] = field(default_factory=Counter)
    portals: Counter[str] = field(default_factory=Counter)  # portal -> publications listing it
    technologies: Counter[str] = field(default_factory=Counter)  # -> publishing organisations
    themes: Counter[str] = field(default_factory=Counter)  # -> datasets
    bins: Counter[str] = field(default_factory=Counter)  # -> publishing organisations
    types: Counter[str] = field(default_factory=Counter)  # -> publishing organisations

    def add(self, o: OrganizationFacts, p: Publication, covered: bool, sign: int) -> None:
        if not o.active:
            return
        self.organizations += sign
        council = o.council_id or o.id
        if o.obligated and o.type in COLLECTIVITE_TYPES:
            _move(self.obligated, council, sign)
            if p.datasets:
                _move(self.obligated_publishing, council, sign)
        if o.type == "COM" and o.population:
            self.population += sign * o.population
            self.covered += sign * o.population * covered
        if not p.datasets:
            return
        self.publishing += sign
        self.collectivites_publishing += sign * (o.type in COLLECTIVITE_TYPES)
        self.associated_publishing += sign * (o.type in ASSOCIATED_TYPES)
        self.channel_local_only += sign * bool(p.local and not p.national)
        self.channel_national_only += sign * bool(p.national and not p.local)
        self.channel_both += sign * bool(p.national and p.local)
        self.scdl_publishers += sign * bool(p.scdl_schemas)
        _move(self.bins, population_bin(o.population), sign)
        _move(self.types, o.type or "-", sign)
        for technology in p.technologies:
            _move(self.technologies, technology, sign)
        self.add_datasets(p, sign)

    def add_datasets(self, p: Publication, sign: int) -> None:
        self.datasets += sign * p.datasets
        self.open_format += sign * p.open_format
        self.open_licence += sign * p.open_licence
        self.fresh += sign * p.fresh
        self.with_schema += sign * p.with_schema
        for portal in p.portals:
            _move(self.portals, portal, sign)
        for theme, count in p.themes.items():
            _move(self.themes, theme, sign * count)

    def values(self, unattributed: Publication | None = None) -> Values:
        sums = self
        if unattributed and unattributed.datasets:
            sums = Tally(portals=Counter(self.portals), themes=Counter(self.themes), **{
                k: getattr(self, k) for k in ("datasets", "open_format", "open_licence", "fresh", "with_schema")
            })  # fmt: skip
            sums.add_datasets(unattributed, 1)
        datasets = sums.datasets
        values: Values = {
            "organizations": self.organizations,
            "organizations_publishing": self.publishing,
            "collectivites_publishing": self.collectivites_publishing,
            "associated_publishing": self.associated_publishing,
            "datasets": datasets,
            "obligated": len(self.obligated),
            "obligated_publishing": len(self.obligated_publishing),
            "opening_rate": _share(len(self.obligated_publishing), len(self.obligated)),
            "population": self.population,
            "population_covered": self.covered,
            "coverage_rate": _share(self.covered, self.population),
            "channel_local_only": self.channel_local_only,
            "channel_national_only": self.channel_national_only,
            "channel_both": self.channel_both,
            "platforms": len(sums.portals),
            "open_format_share": _share(sums.open_format, datasets),
            "open_licence_share": _share(sums.open_licence, datasets),
            "fresh_share": _share(sums.fresh, datasets),
            "schema_share": _share(sums.with_schema, datasets),
            "scdl_publishers": self.scdl_publishers,
        }
        values |= {f"technology:{t}": n for t, n in sorted(self.technologies.items())}
        values |= {f"theme:{t}": n for t, n in sorted(sums.themes.items())}
        values |= {f"population_bin:{b}": n for b, n in sorted(self.bins.items())}
        values |= {f"type:{t}": n for t, n in sorted(self.types.items())}
        return values


def _move(counter: Counter[str], key: str, by: int) -> None:
    counter[key] += by
    if not counter[key]:
        del counter[key]


class Registry:
    """Every organisation's facts and publication ('' holds the datasets of no known organisation),
    with a `Tally` per scope kept up to date: each organisation's contribution (its facts, its
    publication, whether it is covered) is in the tallies of its territories, its type and the nation,
    and moves when any of the three changes. A service keeps one in memory, so that recomputing the
    nation or a type costs the same as recomputing a commune."""

    def __init__(self, organizations: dict[str, OrganizationFacts], publications: dict[str, Publication]) -> None:
        self.organizations = organizations
        self.publications = publications
        self.tallies: dict[Scope, Tally] = {}
        self._contributions: dict[str, tuple[OrganizationFacts, Publication, bool]] = {}
        self._communes = Communes(organizations.values())
        self._coverage = Coverage.of((o, publications.get(o.id, EMPTY)) for o in organizations.values())
        for organization_id in organizations:
            self._refresh(organization_id)

    def set_organization(self, organization: OrganizationFacts) -> None:
        before = self.organizations.get(organization.id)
        publication = self.publications.get(organization.id, EMPTY)
        if before is not None:
            self._coverage.add(before, publication, -1)
            self._communes.remove(before)
        self.organizations[organization.id] = organization
        self._communes.add(organization)
        self._coverage.add(organization, publication, 1)
        self._refresh(organization.id)
        self._refresh_covered_by(before, organization)

    def set_publication(self, organization_id: str, publication: Publication) -> None:
        before = self.publications.get(organization_id, EMPTY)
        organization = self.organizations.get(organization_id)
        if organization is not None:
            self._coverage.add(organization, before, -1)
            self._coverage.add(organization, publication, 1)
        self.publications[organization_id] = publication
        self._refresh(organization_id)
        if organization is not None and before.publishes != publication.publishes:
            self._refresh_covered_by(organization)

    def communes(self) -> "Communes":
        return self._communes

    def compute(self, scopes: Iterable[Scope]) -> dict[Scope, Values]:
        """The values of these scopes."""
        result: dict[Scope, Values] = {}
        for scope in set(scopes):
            kind, scope_id = scope
            if kind == "organization":
                if scope_id in self.organizations:
                    organization = self.organizations[scope_id]
                    result[scope] = organization_values(organization, self.publications.get(scope_id, EMPTY))
            else:
                unattributed = self.publications.get("", EMPTY) if scope == NATIONAL else None
                result[scope] = self.tallies.get(scope, Tally()).values(unattributed)
        return result

    def _refresh(self, organization_id: str) -> None:
        """Put the organisation's current contribution in its scopes' tallies in place of the previous one."""
        organization = self.organizations.get(organization_id)
        if organization is None:
            return
        publication = self.publications.get(organization_id, EMPTY)
        contribution = (organization, publication, organization.type == "COM" and self._coverage.covers(organization))
        previous = self._contributions.get(organization_id)
        if previous == contribution:
            return
        if previous is not None:
            for scope in (NATIONAL, *previous[0].territories):
                self.tallies[scope].add(*previous, -1)
        for scope in (NATIONAL, *organization.territories):
            self.tallies.setdefault(scope, Tally()).add(*contribution, 1)
        self._contributions[organization_id] = contribution

    def _refresh_covered_by(self, *organizations: OrganizationFacts | None) -> None:
        for organization in organizations:
            for commune in covered_by(organization, self._communes):
                self._refresh(commune.id)


def compute_scopes(
    organizations: dict[str, tuple[OrganizationFacts, Publication]],
    unattributed: Publication,
    scopes: Iterable[Scope],
) -> dict[Scope, Values]:
    """The values of these scopes by their definition (`scope_values` over every member), from every
    organisation and its publication: what the incremental `Registry` must agree with."""
    pairs = list(organizations.values())
    coverage = Coverage.of(pairs)
    members: dict[Scope, list[tuple[OrganizationFacts, Publication]]] = {}
    for pair in pairs:
        for territory in pair[0].territories:
            members.setdefault(territory, []).append(pair)
    result: dict[Scope, Values] = {}
    for scope in set(scopes):
        kind, scope_id = scope
        if kind == "organization":
            if scope_id in organizations:
                result[scope] = organization_values(*organizations[scope_id])
        elif scope == NATIONAL:
            result[scope] = scope_values(pairs, coverage, unattributed)
        else:
            result[scope] = scope_values(members.get(scope, []), coverage)
    return result


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None
