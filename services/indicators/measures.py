"""The Observatoire's indicators as plain functions over projected facts (definitions: docs/indicators.md).

Two levels: an organisation's `Publication` summarises its datasets; a scope (an organisation, a
département, a région, an organisation type, the nation) is computed from its organisations and their
publications. `touched_scopes` says which scopes a change can move, so that recomputing only those
gives the same values as recomputing everything (property-tested).
"""

import contextlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

from shared.population import population_bin
from shared.vocabulary import ASSOCIATED_TYPES, COLLECTIVITE_TYPES, EPCI_TYPES, OPEN_LICENCES

Values = dict[str, float | int | None]
Scope = tuple[str, str]  # (scope, scope id)
NATIONAL: Scope = ("national", "FR")

OPEN_FORMATS = frozenset({"csv", "json", "geojson", "xml", "ods", "kml", "gml", "gtfs", "shp", "wfs"})
FRESH_DAYS = 365
MUTUALISED_FROM = 4  # councils: a platform hosting this many is mutualised, two or three is shared
PLATFORM: str = "platform"  # the scope of a platform, by its address


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


@dataclass
class Coverage:
    """Who publishes, for the population covered: a commune is covered when it, its EPCI, its
    département's council or its région's council publishes. A single council publishing covers
    every COG entry it serves (the CeA covers the Bas-Rhin and the Haut-Rhin). Kept by counts of
    rows whose council publishes, so that a row can be taken out as well as put in (`Registry`)."""

    publishing: set[str] = field(default_factory=set)  # rows whose council publishes
    departements: Counter[str] = field(default_factory=Counter)  # such département rows per code
    regions: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, rows: Iterable[tuple[OrganizationFacts, bool]]) -> "Coverage":
        """From every row and whether its council publishes."""
        coverage = cls()
        for organization, council_publishes in rows:
            coverage.add(organization, council_publishes, 1)
        return coverage

    def add(self, organization: OrganizationFacts, council_publishes: bool, sign: int) -> None:
        if not (council_publishes and organization.active):
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


def council_publications(organizations: Iterable[tuple[OrganizationFacts, Publication]]) -> dict[str, Publication]:
    """Each council's publication, over its active rows."""
    rows: dict[str, list[Publication]] = {}
    for organization, publication in organizations:
        if organization.active:
            rows.setdefault(organization.council, []).append(publication)
    return {council: merged(publications) for council, publications in rows.items()}


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
        "reuses": len(publication.reuses),
        "reused_share": _share(publication.reused, n),
        "member_communes_served": len(publication.communes),
        "obligated": None if organization.obligated is None else int(organization.obligated),
        **{f"theme:{theme}": count for theme, count in sorted(publication.themes.items())},
        **{f"technology:{t}": 1 for t in sorted(publication.technologies)},
        **{f"audience:{counter}": n for counter, n in sorted(publication.audience.items())},
    }


@dataclass(frozen=True)
class Baseline:
    """The councils publishing at the last edition (`year`): who entered and who left since is
    counted against it (ODF indicator 3)."""

    year: int
    councils: frozenset[str]


def scope_values(
    members: Iterable[OrganizationFacts],
    coverage: Coverage,
    councils: Mapping[str, Publication],
    unattributed: Publication | None = None,
    baseline: Baseline | None = None,
) -> Values:
    """A territory's or a type's values from its active organisations (and, nationally, the datasets no
    organisation is known for, which count in the dataset totals only). Each council present in the
    scope counts once, with what it publishes through any of its rows (`councils`): the Collectivité
    de Corse publishing is a publishing council in Corse-du-Sud as in Haute-Corse."""
    # One pass over the members (a national or commune-type scope has tens of thousands of them);
    # the sums below only need the publishing councils.
    organizations, population, covered = 0, 0, 0
    present: dict[str, list[OrganizationFacts]] = {}
    for o in members:
        if not o.active:
            continue
        organizations += 1
        present.setdefault(o.council, []).append(o)
        if o.type == "COM" and o.population:
            population += o.population
            if coverage.covers(o):
                covered += o.population
    obligated, obligated_publishing, entered, left = 0, 0, 0, 0
    publishing: list[tuple[OrganizationFacts, Publication]] = []
    for council, rows in present.items():
        publication = councils.get(council, EMPTY)
        is_obligated = any(o.obligated and o.type in COLLECTIVITE_TYPES for o in rows)
        obligated += is_obligated
        was_publishing = baseline is not None and council in baseline.councils
        entered += bool(publication.datasets) and not was_publishing
        left += was_publishing and not publication.datasets
        if publication.datasets:
            publishing.append((representative(council, rows), publication))
            obligated_publishing += is_obligated
    publications = [p for _, p in publishing] + ([unattributed] if unattributed and unattributed.datasets else [])
    datasets = sum(p.datasets for p in publications)
    portals = frozenset(portal for p in publications for portal in p.portals)
    values: Values = {
        "organizations": organizations,
        "organizations_publishing": len(publishing),
        "collectivites_publishing": sum(1 for o, _ in publishing if o.type in COLLECTIVITE_TYPES),
        "associated_publishing": sum(1 for o, _ in publishing if o.type in ASSOCIATED_TYPES),
        "datasets": datasets,
        "obligated": obligated,
        "obligated_publishing": obligated_publishing,
        "opening_rate": _share(obligated_publishing, obligated),
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
        "reuses": len(frozenset(reuse for p in publications for reuse in p.reuses)),
        "reused_share": _share(sum(p.reused for p in publications), datasets),
        "epci_serving_communes": sum(1 for _, p in publishing if p.communes),
        "communes_served_by_epci": sum(len(p.communes) for _, p in publishing),
        **since_edition(baseline, entered, left),
    }
    technologies = Counter(t for _, p in publishing for t in p.technologies)
    values |= {f"technology:{t}": n for t, n in sorted(technologies.items())}
    technology_datasets: Counter[str] = Counter()
    themes: Counter[str] = Counter()
    audience: Counter[str] = Counter()
    for p in publications:
        technology_datasets.update(p.technologies)
        themes.update(p.themes)
        audience.update(p.audience)
    values |= {f"technology_datasets:{t}": n for t, n in sorted(technology_datasets.items())}
    values |= {f"theme:{t}": n for t, n in sorted(themes.items())}
    values |= {f"audience:{c}": n for c, n in sorted(audience.items()) if n}
    bins = Counter(population_bin(o.population) for o, _ in publishing)
    values |= {f"population_bin:{b}": n for b, n in sorted(bins.items())}
    types = Counter(o.type or "-" for o, _ in publishing)
    values |= {f"type:{t}": n for t, n in sorted(types.items())}
    return values


def baseline_of(year: int, publishing: Iterable[str], organizations: Mapping[str, OrganizationFacts]) -> Baseline:
    """The councils of the organisations publishing at an edition."""
    return Baseline(year, frozenset(organizations[i].council if i in organizations else i for i in publishing))


def since_edition(baseline: Baseline | None, entered: int, left: int) -> Values:
    """Publishers that entered and left since the last edition (None before the first one)."""
    if baseline is None:
        return {"since_edition": None, "entered_since_edition": None, "left_since_edition": None}
    return {"since_edition": baseline.year, "entered_since_edition": entered, "left_since_edition": left}


def typology(platform: PlatformFacts | None, hosted: int) -> str:
    """ODF's typology of platforms (its `Collab` field), observed rather than declared: the national
    portal concentrates; a platform listing the datasets of one council is dedicated to it, of two or
    three shared, of more mutualised."""
    if platform is not None and platform.national:
        return "concentrateur"
    if hosted == 0:
        return "indeterminee"  # only datasets of no known organisation
    if hosted == 1:
        return "dedie"
    return "partage" if hosted < MUTUALISED_FROM else "mutualise"


@dataclass(frozen=True)
class PlatformSums:
    scopes: dict[Scope, Values]  # each platform's values
    national: Values  # the nation's platform indicators
    shared: frozenset[str]  # the platforms shared or mutualised between councils


def platform_scopes(
    platforms: Mapping[str, PlatformFacts], councils: Iterable[Publication], unattributed: Publication
) -> PlatformSums:
    """Each platform's values (ODF 19: the councils it hosts; its datasets, typology and technology),
    the nation's platform indicators (ODF 8 and 9 over platforms listing a live dataset), and which
    platforms several councils share (ODF 13's mutualisation, counted per scope by
    `on_shared_platform`), from what each council publishes. Every known platform has values: one
    that lists nothing any more, zeros."""
    hosted: Counter[str] = Counter()
    datasets: Counter[str] = Counter(unattributed.portals)
    publishing = [p for p in councils if p.datasets]
    for publication in publishing:
        hosted.update(publication.portals.keys())
        datasets.update(publication.portals)
    scopes: dict[Scope, Values] = {}
    for url in platforms.keys() | datasets.keys():
        platform = platforms.get(url)
        values: Values = {"datasets": datasets[url], "organizations_hosted": hosted[url],
                          f"typology:{typology(platform, hosted[url])}": 1}  # fmt: skip
        if platform is not None:
            values[f"technology:{platform.technology}"] = 1
        scopes[(PLATFORM, url)] = values
    live = [url for url in datasets if datasets[url]]
    typologies = Counter(typology(platforms.get(url), hosted[url]) for url in live)
    technologies = Counter(platforms[url].technology if url in platforms else "-" for url in live)
    shared = frozenset(url for url in live if typology(platforms.get(url), hosted[url]) in ("partage", "mutualise"))
    national: Values = {f"platform_typology:{t}": n for t, n in sorted(typologies.items())}
    national |= {f"platform_technology:{t}": n for t, n in sorted(technologies.items())}
    return PlatformSums(scopes, national, shared)


def on_shared_platform(publication: Publication, shared: frozenset[str]) -> bool:
    """Whether a council publishes through a platform it shares with other councils (cooperation)."""
    return bool(publication.datasets) and not shared.isdisjoint(publication.portals)


def representative(council: str, rows: list[OrganizationFacts]) -> OrganizationFacts:
    """The row a council is counted as in a scope (its type, its population bin): its own row when
    the scope holds it (the région row in a région), else the first of those it holds."""
    return next((o for o in rows if o.id == council), None) or min(rows, key=lambda o: o.id)


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


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one council brings to one scope's tally (an organisation on its own is a council of one
    row): its rows there, their communes' population and how much of it is covered, whether it is an
    obligated collectivité, the row it is counted as (`representative`), and what it publishes."""

    rows: int
    population: int
    covered: int
    obligated: bool
    unit: OrganizationFacts
    publication: Publication
    was_publishing: bool = False  # at the last edition


@dataclass
class Tally:
    """A scope's running sums over its councils, so that its values follow a change by taking a
    council's previous contribution out and its new one in (`Registry`), never by iterating over the
    scope's members again. `scope_values` is the definition it must agree with."""

    organizations: int = 0
    publishing: int = 0
    collectivites_publishing: int = 0
    associated_publishing: int = 0
    population: int = 0
    covered: int = 0
    obligated: int = 0
    obligated_publishing: int = 0
    entered: int = 0  # councils publishing that did not at the last edition
    left: int = 0  # councils that published at the last edition and no longer do
    channel_local_only: int = 0
    channel_national_only: int = 0
    channel_both: int = 0
    scdl_publishers: int = 0
    epci_serving_communes: int = 0  # publishing councils whose datasets name member communes
    communes_served_by_epci: int = 0  # the communes they name (an EPCI's communes are its own)
    datasets: int = 0
    open_format: int = 0
    open_licence: int = 0
    fresh: int = 0
    with_schema: int = 0
    reused: int = 0
    portals: Counter[str] = field(default_factory=Counter)  # portal -> publications listing it
    reuses: Counter[str] = field(default_factory=Counter)  # reuse -> publications with a dataset it uses
    audience: Counter[str] = field(default_factory=Counter)  # "udata:views" -> sum
    technologies: Counter[str] = field(default_factory=Counter)  # -> publishing councils
    technology_datasets: Counter[str] = field(default_factory=Counter)  # -> datasets
    themes: Counter[str] = field(default_factory=Counter)  # -> datasets
    bins: Counter[str] = field(default_factory=Counter)  # -> publishing councils
    types: Counter[str] = field(default_factory=Counter)  # -> publishing councils

    def add(self, c: Contribution, sign: int) -> None:
        self.organizations += sign * c.rows
        self.population += sign * c.population
        self.covered += sign * c.covered
        self.obligated += sign * c.obligated
        p, o = c.publication, c.unit
        self.entered += sign * (bool(p.datasets) and not c.was_publishing)
        self.left += sign * (c.was_publishing and not p.datasets)
        if not p.datasets:
            return
        self.obligated_publishing += sign * c.obligated
        self.publishing += sign
        self.collectivites_publishing += sign * (o.type in COLLECTIVITE_TYPES)
        self.associated_publishing += sign * (o.type in ASSOCIATED_TYPES)
        self.channel_local_only += sign * bool(p.local and not p.national)
        self.channel_national_only += sign * bool(p.national and not p.local)
        self.channel_both += sign * bool(p.national and p.local)
        self.scdl_publishers += sign * bool(p.scdl_schemas)
        self.epci_serving_communes += sign * bool(p.communes)
        self.communes_served_by_epci += sign * len(p.communes)
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
        self.reused += sign * p.reused
        for portal in p.portals:
            _move(self.portals, portal, sign)
        for reuse in p.reuses:
            _move(self.reuses, reuse, sign)
        for technology, count in p.technologies.items():
            _move(self.technology_datasets, technology, sign * count)
        for theme, count in p.themes.items():
            _move(self.themes, theme, sign * count)
        for counter, count in p.audience.items():
            _move(self.audience, counter, sign * count)

    def with_unattributed(self, unattributed: Publication | None) -> "Tally":
        """Its dataset sums with the datasets of no known organisation added (the nation's)."""
        if not (unattributed and unattributed.datasets):
            return self
        sums = Tally()
        for name in DATASET_COUNTS:
            setattr(sums, name, getattr(self, name))
        for name in DATASET_TALLIES:
            setattr(sums, name, Counter(getattr(self, name)))
        sums.add_datasets(unattributed, 1)
        return sums

    def values(self, unattributed: Publication | None = None, baseline: Baseline | None = None) -> Values:
        sums = self.with_unattributed(unattributed)
        datasets = sums.datasets
        values: Values = {
            "organizations": self.organizations,
            "organizations_publishing": self.publishing,
            "collectivites_publishing": self.collectivites_publishing,
            "associated_publishing": self.associated_publishing,
            "datasets": datasets,
            "obligated": self.obligated,
            "obligated_publishing": self.obligated_publishing,
            "opening_rate": _share(self.obligated_publishing, self.obligated),
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
            "reuses": len(sums.reuses),
            "reused_share": _share(sums.reused, datasets),
            "epci_serving_communes": self.epci_serving_communes,
            "communes_served_by_epci": self.communes_served_by_epci,
            **since_edition(baseline, self.entered, self.left),
        }
        values |= {f"technology:{t}": n for t, n in sorted(self.technologies.items())}
        values |= {f"technology_datasets:{t}": n for t, n in sorted(sums.technology_datasets.items())}
        values |= {f"theme:{t}": n for t, n in sorted(sums.themes.items())}
        values |= {f"audience:{c}": n for c, n in sorted(sums.audience.items())}
        values |= {f"population_bin:{b}": n for b, n in sorted(self.bins.items())}
        values |= {f"type:{t}": n for t, n in sorted(self.types.items())}
        return values


DATASET_COUNTS = ("datasets", "open_format", "open_licence", "fresh", "with_schema", "reused")
DATASET_TALLIES = ("portals", "technology_datasets", "themes", "reuses", "audience")  # what `add_datasets` moves


def _move(counter: Counter[str], key: str, by: int) -> None:
    counter[key] += by
    if not counter[key]:
        del counter[key]


class Registry:
    """Every organisation's facts and publication ('' holds the datasets of no known organisation),
    grouped in councils, with a `Tally` per scope kept up to date: each council's contribution to each
    scope its rows are in (the nation, their territories and types) moves when its rows' facts, what
    it publishes or whether its communes are covered change. A service keeps one in memory, so that
    recomputing the nation or a type costs the same as recomputing a commune."""

    def __init__(
        self,
        organizations: dict[str, OrganizationFacts],
        publications: dict[str, Publication],
        baseline: Baseline | None = None,
        platforms: dict[str, PlatformFacts] | None = None,
    ) -> None:
        self.organizations = organizations
        self.publications = publications
        self.baseline = baseline
        self.platforms = platforms if platforms is not None else {}
        self.tallies: dict[Scope, Tally] = {}
        self._contributions: dict[str, dict[Scope, Contribution]] = {}  # council -> scope -> its share
        self._communes = Communes(organizations.values())
        self._rows: dict[str, set[str]] = {}  # council -> the ids of its rows
        for organization in organizations.values():
            self._rows.setdefault(organization.council, set()).add(organization.id)
        self._councils = {council: self._merged(council) for council in self._rows}
        self._coverage = Coverage.of((o, self._councils[o.council].publishes) for o in organizations.values())
        for council in self._rows:
            self._refresh(council)

    def set_organization(self, organization: OrganizationFacts) -> None:
        before = self.organizations.get(organization.id)
        councils = {organization.council} | ({before.council} if before else set())
        with self._changing(councils):
            if before is not None:
                self._communes.remove(before)
                self._rows[before.council].discard(before.id)
            self.organizations[organization.id] = organization
            self._communes.add(organization)
            self._rows.setdefault(organization.council, set()).add(organization.id)
        self._refresh_covered_by(before, organization)

    def set_publication(self, organization_id: str, publication: Publication) -> None:
        organization = self.organizations.get(organization_id)
        if organization is None:  # '': the datasets of no known organisation
            self.publications[organization_id] = publication
            return
        with self._changing({organization.council}):
            self.publications[organization_id] = publication

    def set_platform(self, platform: PlatformFacts) -> None:
        self.platforms[platform.url] = platform

    def communes(self) -> "Communes":
        return self._communes

    def publishing_councils(self) -> frozenset[str]:
        return frozenset(council for council, publication in self._councils.items() if publication.publishes)

    def set_baseline(self, baseline: Baseline | None) -> None:
        """A new edition was taken: entries and exits are counted against it from now on."""
        self.baseline = baseline
        for council in self._rows:
            self._refresh(council)

    def council_rows(self, organization: OrganizationFacts) -> list[OrganizationFacts]:
        """Every row of the organisation's council (itself alone for most)."""
        return self._rows_of(organization.council) or [organization]

    def touched_by(self, organization: OrganizationFacts, coverage_moved: bool) -> set[Scope]:
        """The scopes a change of this organisation's council can move: its rows' territories and, when
        whether it publishes moved, those of the communes any of its rows covers."""
        scopes: set[Scope] = set()
        for row in self.council_rows(organization):
            scopes |= touched_scopes(row, row, covered_by(row, self._communes) if coverage_moved else [])
        return scopes

    def compute(self, scopes: Iterable[Scope]) -> dict[Scope, Values]:
        """The values of these scopes; the nation's come with every platform's (both follow from what
        each council publishes: a few hundred platforms, a few thousand publishing councils)."""
        result: dict[Scope, Values] = {}
        for scope in set(scopes):
            kind, scope_id = scope
            if kind == "organization":
                if scope_id in self.organizations:
                    organization = self.organizations[scope_id]
                    result[scope] = organization_values(organization, self.publications.get(scope_id, EMPTY))
            elif kind != PLATFORM:
                unattributed = self.publications.get("", EMPTY) if scope == NATIONAL else None
                result[scope] = self.tallies.get(scope, Tally()).values(unattributed, self.baseline)
        if not any(kind not in ("organization", PLATFORM) for kind, _ in result):
            return result
        sums = platform_scopes(self.platforms, self._councils.values(), self.publications.get("", EMPTY))
        if NATIONAL in result:  # with it, every platform and every territory and type (a few hundred)
            result[NATIONAL] |= sums.national
            result |= sums.scopes
            for scope in self.tallies.keys() - result.keys():
                result[scope] = self.tallies[scope].values(None, self.baseline)
        # Whether a council's platform is shared moves with other councils: counted afresh.
        cooperating: Counter[Scope] = Counter()
        for council, publication in self._councils.items():
            if on_shared_platform(publication, sums.shared):
                cooperating.update(self._contributions.get(council, {}).keys())
        for scope, values in result.items():
            if scope[0] not in ("organization", PLATFORM):
                values["organizations_on_shared_platforms"] = cooperating[scope]
        return result

    @contextlib.contextmanager
    def _changing(self, councils: set[str]) -> Iterator[None]:
        """Around a change of these councils' rows or publications: their rows' coverage taken out and
        put back, their contributions refreshed, and the communes they cover refreshed when whether
        they publish moved."""
        rows_before = {c: self._rows_of(c) for c in councils}
        publishing_before = {c: self._councils.get(c, EMPTY).publishes for c in councils}
        for council, rows in rows_before.items():
            for row in rows:
                self._coverage.add(row, publishing_before[council], -1)
        yield
        for council in councils:
            self._councils[council] = self._merged(council)
            for row in self._rows_of(council):
                self._coverage.add(row, self._councils[council].publishes, 1)
        for council in councils:
            self._refresh(council)
            if self._councils[council].publishes != publishing_before[council]:
                self._refresh_covered_by(*rows_before[council], *self._rows_of(council))

    def _rows_of(self, council: str) -> list[OrganizationFacts]:
        return [self.organizations[i] for i in sorted(self._rows.get(council, ()))]

    def _merged(self, council: str) -> Publication:
        rows = self._rows.get(council, ())
        return merged(self.publications.get(i, EMPTY) for i in rows if self.organizations[i].active)

    def _refresh(self, council: str) -> None:
        """Put the council's current contributions in its scopes' tallies in place of the previous ones."""
        rows = [o for o in self._rows_of(council) if o.active]
        current = self._contributions_of(council, rows)
        previous = self._contributions.get(council, {})
        if current == previous:
            return
        for scope in previous.keys() | current.keys():
            before, after = previous.get(scope), current.get(scope)
            if before == after:
                continue
            tally = self.tallies.setdefault(scope, Tally())
            if before is not None:
                tally.add(before, -1)
            if after is not None:
                tally.add(after, 1)
        self._contributions[council] = current

    def _contributions_of(self, council: str, rows: list[OrganizationFacts]) -> dict[Scope, Contribution]:
        publication = self._councils.get(council, EMPTY)
        if len(rows) == 1:  # most councils: one row, the same contribution to each of its scopes
            return dict.fromkeys((NATIONAL, *rows[0].territories), self._contribution(council, rows, publication))
        present: dict[Scope, list[OrganizationFacts]] = {}
        for row in rows:
            for scope in (NATIONAL, *row.territories):
                present.setdefault(scope, []).append(row)
        return {scope: self._contribution(council, members, publication) for scope, members in present.items()}

    def _contribution(self, council: str, rows: list[OrganizationFacts], publication: Publication) -> Contribution:
        communes = [o for o in rows if o.type == "COM" and o.population]
        return Contribution(
            rows=len(rows),
            population=sum(o.population or 0 for o in communes),
            covered=sum(o.population or 0 for o in communes if self._coverage.covers(o)),
            obligated=any(o.obligated and o.type in COLLECTIVITE_TYPES for o in rows),
            unit=representative(council, rows),
            publication=publication,
            was_publishing=self.baseline is not None and council in self.baseline.councils,
        )

    def _refresh_covered_by(self, *organizations: OrganizationFacts | None) -> None:
        for organization in organizations:
            for commune in covered_by(organization, self._communes):
                self._refresh(commune.council)


def compute_scopes(
    organizations: dict[str, tuple[OrganizationFacts, Publication]],
    unattributed: Publication,
    scopes: Iterable[Scope],
    baseline: Baseline | None = None,
    platforms: Mapping[str, PlatformFacts] | None = None,
) -> dict[Scope, Values]:
    """The values of these scopes by their definition (`scope_values` over every member), from every
    organisation and its publication: what the incremental `Registry` must agree with. The nation's
    come with every platform's, as there."""
    pairs = list(organizations.values())
    councils = council_publications(pairs)
    coverage = Coverage.of((o, councils.get(o.council, EMPTY).publishes) for o, _ in pairs)
    members: dict[Scope, list[OrganizationFacts]] = {}
    for organization, _ in pairs:
        for territory in organization.territories:
            members.setdefault(territory, []).append(organization)
    sums = platform_scopes(platforms or {}, councils.values(), unattributed)
    wanted = set(scopes)
    if NATIONAL in wanted:  # with it, every territory and type, as the Registry gives them
        wanted |= set(members)
    result: dict[Scope, Values] = {}
    for scope in wanted:
        kind, scope_id = scope
        if kind == "organization":
            if scope_id in organizations:
                result[scope] = organization_values(*organizations[scope_id])
            continue
        in_scope = [o for o, _ in pairs] if scope == NATIONAL else members.get(scope, [])
        result[scope] = scope_values(
            in_scope, coverage, councils, unattributed if scope == NATIONAL else None, baseline
        )
        present = {o.council for o in in_scope if o.active}
        result[scope]["organizations_on_shared_platforms"] = sum(
            on_shared_platform(councils.get(c, EMPTY), sums.shared) for c in present
        )
    if NATIONAL in result:
        result[NATIONAL] |= sums.national
        result |= sums.scopes
    return result


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None
