"""The indicators kept up to date incrementally: a `Tally` of running sums per scope, and the `Registry`
of every organisation's facts and publication that moves them when a change arrives; what it gives
must equal measures.compute_scopes over everything (property-tested). Pure, like measures.py."""

import contextlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from services.indicators import facts
from services.indicators.facts import OrganizationFacts, PlatformFacts, Publication, Scope, Values
from services.indicators.measures import (
    PLATFORM,
    SHARED_TYPOLOGIES,
    Baseline,
    Communes,
    Coverage,
    all_scopes,
    covered_by,
    on_shared_platform,
    organization_values,
    platform_national_values,
    platform_values,
    representative,
    share,
    since_edition,
    technology_of,
    touched_scopes,
    typology,
)
from shared.population import population_bin
from shared.vocabulary import ASSOCIATED_TYPES, COLLECTIVITE_TYPES


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
    cooperating: bool = False  # publishes on a platform it shares with other councils


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
    cooperating: int = 0  # publishing councils on a shared platform
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
        self.cooperating += sign * c.cooperating
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
            "opening_rate": share(self.obligated_publishing, self.obligated),
            "population": self.population,
            "population_covered": self.covered,
            "coverage_rate": share(self.covered, self.population),
            "channel_local_only": self.channel_local_only,
            "channel_national_only": self.channel_national_only,
            "channel_both": self.channel_both,
            "platforms": len(sums.portals),
            "open_format_share": share(sums.open_format, datasets),
            "open_licence_share": share(sums.open_licence, datasets),
            "fresh_share": share(sums.fresh, datasets),
            "schema_share": share(sums.with_schema, datasets),
            "scdl_publishers": self.scdl_publishers,
            "reuses": len(sums.reuses),
            "reused_share": share(sums.reused, datasets),
            "epci_serving_communes": self.epci_serving_communes,
            "communes_served_by_epci": self.communes_served_by_epci,
            "organizations_on_shared_platforms": self.cooperating,
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


class Platforms:
    """Each platform's councils and datasets, kept up to date as publications move, with the nation's
    live platforms by typology and technology and the platforms shared between councils: what
    measures.platform_scopes counts from every council at once, here moved by one council's change,
    so that a batch recomputes the platforms it touched rather than all of them (issue 34: at 5,000
    platforms, every batch read, computed and compared them all)."""

    def __init__(self, facts: dict[str, PlatformFacts]) -> None:
        self.facts = facts
        self.hosted: Counter[str] = Counter()  # url -> publishing councils listing it
        self.datasets: Counter[str] = Counter()  # url -> their datasets (and those of no known organisation)
        self.listing: dict[str, set[str]] = {}  # url -> the councils listing it
        self.shared: set[str] = set()
        self._classes: dict[str, tuple[str, str]] = {}  # live url -> its typology and technology
        self._typologies: Counter[str] = Counter()
        self._technologies: Counter[str] = Counter()

    def move(self, council: str, before: Publication, after: Publication) -> set[str]:
        """A council's publication moved ('' for the datasets of no known organisation, which list
        platforms without being hosted there): the platforms whose sums it moved."""
        for publication, sign in ((before, -1), (after, 1)):
            if not publication.datasets:
                continue
            for url, datasets in publication.portals.items():
                _move(self.datasets, url, sign * datasets)
                if council:
                    _move(self.hosted, url, sign)
                    listing = self.listing.setdefault(url, set())
                    if sign > 0:
                        listing.add(council)
                    else:
                        listing.discard(council)
                        if not listing:
                            del self.listing[url]
        # A publication lists no platform once it has no dataset: a count unchanged moved nothing.
        listed = before.portals.keys() | after.portals.keys()
        return {url for url in listed if before.portals[url] != after.portals[url]}

    def classify(self, urls: Iterable[str]) -> set[str]:
        """Classify these platforms again (after `move` or new facts); return those whose sharing flipped."""
        flipped = set()
        for url in urls:
            if (old := self._classes.pop(url, None)) is not None:
                _move(self._typologies, old[0], -1)
                _move(self._technologies, old[1], -1)
            if self.datasets[url]:  # live
                platform = self.facts.get(url)
                new = self._classes[url] = (typology(platform, self.hosted[url]), technology_of(platform))
                _move(self._typologies, new[0], 1)
                _move(self._technologies, new[1], 1)
            shared = url in self._classes and self._classes[url][0] in SHARED_TYPOLOGIES
            if shared != (url in self.shared):
                flipped.add(url)
                self.shared.symmetric_difference_update({url})
        return flipped

    def has(self, url: str) -> bool:
        return url in self.facts or url in self.datasets

    def urls(self) -> set[str]:
        """Every platform with values: every known one, and any listed."""
        return self.facts.keys() | self.datasets.keys()

    def values(self, url: str) -> Values:
        return platform_values(self.facts.get(url), self.hosted[url], self.datasets[url])

    def national(self) -> Values:
        return platform_national_values(self._typologies, self._technologies)


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
        self._platforms = Platforms(platforms if platforms is not None else {})
        self._moved: set[Scope] = set()  # scopes moved since `take_moved`
        self.tallies: dict[Scope, Tally] = {}
        self._contributions: dict[str, dict[Scope, Contribution]] = {}  # council -> scope -> its share
        self._communes = Communes(organizations.values())
        self._rows: dict[str, set[str]] = {}  # council -> the ids of its rows
        for organization in organizations.values():
            self._rows.setdefault(organization.council, set()).add(organization.id)
        self._councils = {council: self._merged(council) for council in self._rows}
        for owner, publication in [*self._councils.items(), ("", publications.get("", facts.EMPTY))]:
            self._platforms.move(owner, facts.EMPTY, publication)
        self._platforms.classify(self._platforms.urls())
        self._coverage = Coverage.of((o, self._councils[o.council].publishes) for o in organizations.values())
        for council in self._rows:
            self._refresh(council)
        self._moved.clear()

    @property
    def platforms(self) -> Mapping[str, PlatformFacts]:
        return self._platforms.facts

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
            if organization_id == "":  # they count in the nation and on their platforms
                before = self.publications.get("", facts.EMPTY)
                self._moved.add(facts.NATIONAL)
                self._platforms_moved(self._platforms.move("", before, publication))
            self.publications[organization_id] = publication
            return
        with self._changing({organization.council}):
            self.publications[organization_id] = publication

    def set_platform(self, platform: PlatformFacts) -> None:
        self._platforms.facts[platform.url] = platform
        self._platforms_moved({platform.url})

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

    def every_scope(self) -> set[Scope]:
        """Every organisation, territory and type, the nation, and every platform."""
        return all_scopes(self.organizations.values()) | {(PLATFORM, url) for url in self._platforms.urls()}

    def take_moved(self) -> set[Scope]:
        """The scopes the changes since the last call moved, named by no change (`touched_by` names a
        council's own territories): the platforms it publishes on, with the nation's platform
        indicators, and the territories of the councils whose platform became shared or stopped being."""
        moved, self._moved = self._moved, set()
        return moved

    def compute(self, scopes: Iterable[Scope]) -> dict[Scope, Values]:
        """The values of these scopes (a platform's: one known or listed)."""
        result: dict[Scope, Values] = {}
        for scope in set(scopes):
            kind, scope_id = scope
            if kind == "organization":
                if scope_id in self.organizations:
                    organization = self.organizations[scope_id]
                    result[scope] = organization_values(organization, self.publications.get(scope_id, facts.EMPTY))
            elif kind == PLATFORM:
                if self._platforms.has(scope_id):
                    result[scope] = self._platforms.values(scope_id)
            else:
                unattributed = self.publications.get("", facts.EMPTY) if scope == facts.NATIONAL else None
                result[scope] = (self.tallies.get(scope) or Tally()).values(unattributed, self.baseline)
        if facts.NATIONAL in result:
            result[facts.NATIONAL] |= self._platforms.national()
        return result

    @contextlib.contextmanager
    def _changing(self, councils: set[str]) -> Iterator[None]:
        """Around a change of these councils' rows or publications: their rows' coverage taken out and
        put back, their contributions refreshed, and the communes they cover refreshed when whether
        they publish moved."""
        rows_before = {c: self._rows_of(c) for c in councils}
        before = {c: self._councils.get(c, facts.EMPTY) for c in councils}
        publishing_before = {c: publication.publishes for c, publication in before.items()}
        for council, rows in rows_before.items():
            for row in rows:
                self._coverage.add(row, publishing_before[council], -1)
        yield
        platforms: set[str] = set()
        for council in councils:
            self._councils[council] = self._merged(council)
            platforms |= self._platforms.move(council, before[council], self._councils[council])
            for row in self._rows_of(council):
                self._coverage.add(row, self._councils[council].publishes, 1)
        self._platforms_moved(platforms)
        for council in councils:
            self._refresh(council)
            if self._councils[council].publishes != publishing_before[council]:
                self._refresh_covered_by(*rows_before[council], *self._rows_of(council))

    def _platforms_moved(self, urls: set[str]) -> None:
        """These platforms' sums or facts moved: they and the nation are to be computed again, and the
        councils on those that became shared (or stopped being) count as cooperating again."""
        if not urls:
            return
        self._moved |= {(PLATFORM, url) for url in urls} | {facts.NATIONAL}
        for url in self._platforms.classify(urls):
            for council in sorted(self._platforms.listing.get(url, ())):
                self._refresh(council)

    def _rows_of(self, council: str) -> list[OrganizationFacts]:
        return [self.organizations[i] for i in sorted(self._rows.get(council, ()))]

    def _merged(self, council: str) -> Publication:
        rows = self._rows.get(council, ())
        return facts.merged(self.publications.get(i, facts.EMPTY) for i in rows if self.organizations[i].active)

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
            tally = self.tallies.get(scope)
            if tally is None:  # not setdefault: a Tally, with its seven counters, costs 6 µs to build
                tally = self.tallies[scope] = Tally()
            self._moved.add(scope)
            if before is not None:
                tally.add(before, -1)
            if after is not None:
                tally.add(after, 1)
        self._contributions[council] = current

    def _contributions_of(self, council: str, rows: list[OrganizationFacts]) -> dict[Scope, Contribution]:
        publication = self._councils.get(council, facts.EMPTY)
        if len(rows) == 1:  # most councils: one row, the same contribution to each of its scopes
            return dict.fromkeys((facts.NATIONAL, *rows[0].territories), self._contribution(council, rows, publication))
        present: dict[Scope, list[OrganizationFacts]] = {}
        for row in rows:
            for scope in (facts.NATIONAL, *row.territories):
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
            cooperating=on_shared_platform(publication, self._platforms.shared),
        )

    def _refresh_covered_by(self, *organizations: OrganizationFacts | None) -> None:
        for organization in organizations:
            for commune in covered_by(organization, self._communes):
                self._refresh(commune.council)
