"""The Observatoire's indicators as plain functions over projected facts (definitions: docs/indicators.md).

Two levels: an organisation's `Publication` (facts.py) summarises its datasets; a scope (an
organisation, a département, a région, an organisation type, the nation) is computed from its
organisations and their publications (`scope_values`; every scope at once: `compute_scopes`, the
definition). `touched_scopes` says which scopes a change can move, so that recomputing only those
gives the same values as recomputing everything (property-tested against tally.py's `Registry`).
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from services.indicators.facts import (
    EMPTY,
    NATIONAL,
    OrganizationFacts,
    PlatformFacts,
    Publication,
    Scope,
    Values,
    merged,
)
from shared.population import population_bin
from shared.vocabulary import ASSOCIATED_TYPES, COLLECTIVITE_TYPES, EPCI_TYPES

MUTUALISED_FROM = 4  # councils: a platform hosting this many is mutualised, two or three is shared
PLATFORM: str = "platform"  # the scope of a platform, by its address


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


def organization_values(organization: OrganizationFacts, publication: Publication) -> Values:
    n = publication.datasets
    return {
        "datasets": n,
        "publishes": int(publication.publishes),
        "on_local_portal": int(publication.local > 0),
        "on_national_portal": int(publication.national > 0),
        "platforms": len(publication.portals),
        "open_format_share": share(publication.open_format, n),
        "open_licence_share": share(publication.open_licence, n),
        "fresh_share": share(publication.fresh, n),
        "schema_share": share(publication.with_schema, n),
        "scdl_schemas": len(publication.scdl_schemas),
        "reuses": len(publication.reuses),
        "reused_share": share(publication.reused, n),
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
        "opening_rate": share(obligated_publishing, obligated),
        "population": population,
        "population_covered": covered,
        "coverage_rate": share(covered, population),
        "channel_local_only": sum(1 for _, p in publishing if p.local and not p.national),
        "channel_national_only": sum(1 for _, p in publishing if p.national and not p.local),
        "channel_both": sum(1 for _, p in publishing if p.national and p.local),
        "platforms": len(portals),
        "open_format_share": share(sum(p.open_format for p in publications), datasets),
        "open_licence_share": share(sum(p.open_licence for p in publications), datasets),
        "fresh_share": share(sum(p.fresh for p in publications), datasets),
        "schema_share": share(sum(p.with_schema for p in publications), datasets),
        "scdl_publishers": sum(1 for _, p in publishing if p.scdl_schemas),
        "reuses": len(frozenset(reuse for p in publications for reuse in p.reuses)),
        "reused_share": share(sum(p.reused for p in publications), datasets),
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


SHARED_TYPOLOGIES = ("partage", "mutualise")  # a council on such a platform cooperates (ODF 13)


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
    scopes = {(PLATFORM, url): platform_values(platforms.get(url), hosted[url], datasets[url])
              for url in platforms.keys() | datasets.keys()}  # fmt: skip
    live = [url for url in datasets if datasets[url]]
    typologies = Counter(typology(platforms.get(url), hosted[url]) for url in live)
    technologies = Counter(technology_of(platforms.get(url)) for url in live)
    shared = frozenset(url for url in live if typology(platforms.get(url), hosted[url]) in SHARED_TYPOLOGIES)
    return PlatformSums(scopes, platform_national_values(typologies, technologies), shared)


def platform_values(platform: PlatformFacts | None, hosted: int, datasets: int) -> Values:
    values: Values = {"datasets": datasets, "organizations_hosted": hosted, f"typology:{typology(platform, hosted)}": 1}
    if platform is not None:
        values[f"technology:{platform.technology}"] = 1
    return values


def platform_national_values(typologies: Counter[str], technologies: Counter[str]) -> Values:
    """The nation's platform indicators from its live platforms' typologies and technologies."""
    national: Values = {f"platform_typology:{t}": n for t, n in sorted(typologies.items())}
    return national | {f"platform_technology:{t}": n for t, n in sorted(technologies.items())}


def technology_of(platform: PlatformFacts | None) -> str:
    return platform.technology if platform is not None else "-"


def on_shared_platform(publication: Publication, shared: AbstractSet[str]) -> bool:
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


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None
