"""Recomputation of the indicators a registry change touches (docs/indicators.md).

A batch of registry events updates the projection, then the publication summary of each organisation
whose datasets changed, then the values of the scopes those changes touch (`measures.touched_scopes`),
once for the whole batch: bursts are absorbed by batching. Only values that changed are stored,
snapshotted for the day and announced on `indicators.updated`. Reuses and audience counters
(`harvest.reuses`, `harvest.audience`) change the facts of the datasets whose portal records they
name, and go the same way from there (`apply_facts`).
"""

import contextlib
import dataclasses
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime

import asyncpg

from services.indicators import repository
from services.indicators.facts import (
    EMPTY,
    NATIONAL,
    DatasetFacts,
    OrganizationFacts,
    PlatformFacts,
    Publication,
    Scope,
    Values,
    publication_of,
    tallied,
)
from services.indicators.measures import Baseline, baseline_of, covered_by, touched_scopes
from services.indicators.places import communes_named
from services.indicators.tally import Registry
from shared import metrics
from shared.events import (
    AudienceMeasured,
    CanonicalDataset,
    DatasetChanged,
    Event,
    IndicatorsUpdated,
    Organization,
    OrganizationChanged,
    ReuseDiscovered,
)
from shared.vocabulary import EPCI_TYPES

PRODUCER = "indicators"
EDITION_DAY = (10, 8)  # the Observatoire publishes its yearly edition around 8 October


def organization_facts(organization: Organization) -> OrganizationFacts:
    """The facts the indicators keep of an organisation: its fields of the same names, and whether it is active."""
    copied = {
        f.name: getattr(organization, f.name) for f in dataclasses.fields(OrganizationFacts) if f.name != "active"
    }
    return OrganizationFacts(**copied, active=organization.status == "active")


def dataset_facts(
    dataset: CanonicalDataset,
    national_portals: tuple[str, ...],
    reuses_of: Mapping[str, list[str]] | None = None,
    audience_of: Mapping[str, dict[str, int]] | None = None,
    registry: Registry | None = None,
) -> DatasetFacts:
    """Its facts; `reuses_of` gives the reuses naming each portal record (`source_id:remote_id`),
    `audience_of` each record's counters, `registry` an intercommunality's communes."""
    live = [s for s in dataset.sources if s.withdrawn_at is None]
    national = [s.portal_url.startswith(national_portals) for s in live]
    records = sorted(live_records(dataset))
    return DatasetFacts(
        id=dataset.id,
        organization_id=dataset.organization_id,
        withdrawn=dataset.withdrawn or dataset.merged_into is not None,
        licence=dataset.licence,
        formats=tuple(sorted({r.format for r in dataset.resources if r.format})),
        modified=dataset.modified,
        themes=tuple(dataset.themes),
        schemas=tuple(sorted({r.schema_.name for r in dataset.resources if r.schema_})),
        portals=tuple(sorted({s.portal_url for s in live})),
        technologies=tuple(sorted({s.portal_kind for s in live})),
        national=any(national),
        local=not all(national),
        records=tuple(records),
        reuses=reused(records, reuses_of or {}),
        audience=audience(records, audience_of or {}),
        communes=members_named(dataset, registry) if registry else (),
    )


def members_named(dataset: CanonicalDataset, registry: Registry) -> tuple[str, ...]:
    """The member communes an intercommunality's dataset names in its title (as of its communes now)."""
    epci = registry.organizations.get(dataset.organization_id or "")
    if epci is None or epci.type not in EPCI_TYPES:
        return ()
    members = registry.communes().by_epci.get(epci.id, {}).values()
    return communes_named(dataset.title, epci.name, [(c.id, c.name) for c in members])


def audience(records: Iterable[str], audience_of: Mapping[str, dict[str, int]]) -> tuple[tuple[str, int], ...]:
    """The counters of its records summed per software and metric: data.gouv.fr's views and another
    udata portal's add up, never a udata portal's views and an OpenDataSoft one's downloads."""
    sums: Counter[str] = Counter()
    for record in records:
        sums.update(audience_of.get(record, {}))
    return tuple(sorted((counter, n) for counter, n in sums.items() if n))


def reused(records: Iterable[str], reuses_of: Mapping[str, list[str]]) -> tuple[str, ...]:
    return tuple(sorted({reuse for record in records for reuse in reuses_of.get(record, ())}))


def live_records(dataset: CanonicalDataset) -> list[str]:
    return [f"{s.source_id}:{s.remote_id}" for s in dataset.sources if s.withdrawn_at is None]


def platform_facts(dataset: CanonicalDataset, national_portals: tuple[str, ...]) -> list[PlatformFacts]:
    """The platforms of the dataset's records (withdrawn ones too: the platform exists)."""
    return [
        PlatformFacts(s.portal_url, s.portal_kind, s.portal_url.startswith(national_portals)) for s in dataset.sources
    ]


async def serialise(conn: asyncpg.Connection) -> None:
    """One recomputation at a time (both consumers, every instance): each then sees what the previous
    one committed, so an organisation and its datasets arriving on two topics at once are never
    computed apart."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('indicators.recompute'))")


class Projection:
    """The organisations and publication summaries (a `Registry`), kept in memory between batches:
    every batch needs all of them (the national scope, the coverage). It is the database's copy as of
    `version`. A batch that finds a newer version (another instance's batches) reloads only the
    organisations those versions changed (`indicators.projection_changes`), or everything when that
    cannot be told; one that fails forgets the copy."""

    def __init__(self) -> None:
        self.version = -1
        self.registry = Registry({}, {})
        self.reloads = {"full": 0, "partial": 0}  # how the copy was brought up to date

    async def current(self, conn: asyncpg.Connection) -> Registry:
        version = await repository.projection_version(conn)
        if version == self.version:
            return self.registry
        changed = await repository.changed_since(conn, self.version, version) if self.version >= 0 else None
        if changed is None:
            organizations = await repository.organizations(conn)
            publications = await self._publications(conn, None)
            platforms = await repository.platforms(conn)
            self.registry = Registry(organizations, publications, await baseline(conn, organizations), platforms)
            self.reloads["full"] += 1
        else:
            ids = sorted(changed)
            for organization in (await repository.organizations(conn, ids)).values():
                self.registry.set_organization(organization)
            for owner, publication in (await self._publications(conn, ids)).items():
                self.registry.set_publication(owner, publication)
            for platform in (await repository.platforms(conn)).values():  # a few thousand rows
                if self.registry.platforms.get(platform.url) != platform:
                    self.registry.set_platform(platform)
            self.reloads["partial"] += 1
        self.version = version
        return self.registry

    @staticmethod
    async def _publications(conn: asyncpg.Connection, ids: list[str] | None) -> dict[str, Publication]:
        publications, outdated = await repository.all_publications(conn, ids)
        if outdated:
            publications |= await tally_again(conn, outdated)
        return publications

    async def changed(self, conn: asyncpg.Connection, organization_ids: Iterable[str] | None) -> None:
        """After this instance changed these organisations' facts or publications (None: everything)."""
        ids = sorted(set(organization_ids)) if organization_ids is not None else None
        self.version = await repository.bump_projection_version(conn, ids)

    def forget(self) -> None:
        self.version = -1

    @contextlib.asynccontextmanager
    async def batch(self, conn: asyncpg.Connection) -> AsyncIterator[Registry]:
        """Around a batch: recomputations serialised, the registry up to date; if the batch fails, its
        changes to the registry in memory are rolled back with the transaction, so the copy is
        forgotten (reloaded next time)."""
        await serialise(conn)
        try:
            yield await self.current(conn)
        except BaseException:
            self.forget()
            raise


async def organizations_changed(
    conn: asyncpg.Connection, events: list[OrganizationChanged], projection: Projection
) -> list[Event]:
    async with projection.batch(conn) as registry:
        changed = {e.organization.id: organization_facts(e.organization) for e in events}
        before = {i: registry.organizations[i] for i in changed if i in registry.organizations}
        await repository.upsert_organizations(conn, list(changed.values()))
        await repository.list_organizations(conn, list({e.organization.id: e.organization for e in events}.values()))
        for organization in changed.values():
            registry.set_organization(organization)
        await projection.changed(conn, changed)
        communes = registry.communes()
        scopes: set[Scope] = set()
        for organization in changed.values():
            previous = before.get(organization.id)
            scopes |= touched_scopes(previous, organization, covered_by(previous, communes))
            scopes |= registry.touched_by(organization, coverage_moved=True)  # its council's other rows too
            if previous is not None and previous.council != organization.council:
                scopes |= registry.touched_by(previous, coverage_moved=True)
        emitted = await recompute(conn, scopes, registry, events[-1].correlation_id)
    observe_latency("organizations", events)
    return emitted


async def datasets_changed(
    conn: asyncpg.Connection, events: list[DatasetChanged], national_portals: tuple[str, ...], projection: Projection
) -> list[Event]:
    async with projection.batch(conn) as registry:
        records = sorted({r for e in events for r in live_records(e.dataset)})
        reuses_of = await repository.reuses_of_records(conn, records)
        audience_of = await repository.audience_of_records(conn, records)
        latest = {
            e.dataset.id: dataset_facts(e.dataset, national_portals, reuses_of, audience_of, registry) for e in events
        }
        platforms = {p.url: p for e in events for p in platform_facts(e.dataset, national_portals)}
        if new := [p for p in platforms.values() if registry.platforms.get(p.url) != p]:
            await repository.upsert_platforms(conn, new)
            for platform in new:
                registry.set_platform(platform)
        titles = {e.dataset.id: e.dataset.title for e in events}
        emitted = await apply_facts(conn, latest, registry, projection, events[-1].correlation_id, titles)
    observe_latency("datasets", events)
    return emitted


async def reuses_changed(
    conn: asyncpg.Connection, events: list[ReuseDiscovered], projection: Projection
) -> list[Event]:
    """Reuses change the facts of the datasets whose records they name, before and now."""
    async with projection.batch(conn) as registry:
        named = await repository.upsert_reuses(conn, list({e.key(): e for e in events}.values()))
        return await read_again(conn, named, registry, projection, events[-1].correlation_id)


async def audience_measured(
    conn: asyncpg.Connection, events: list[AudienceMeasured], projection: Projection
) -> list[Event]:
    """New counters move the audience of the datasets whose live records they measure."""
    async with projection.batch(conn) as registry:
        measured = await repository.upsert_audience(conn, events)
        return await read_again(conn, measured, registry, projection, events[-1].correlation_id)


async def read_again(
    conn: asyncpg.Connection,
    records: Iterable[str],
    registry: Registry,
    projection: Projection,
    correlation_id: str | None,
) -> list[Event]:
    """The reuses and audience of the datasets whose live records these are, read again; those that
    moved go the way of any dataset change."""
    stored = await repository.datasets_with_records(conn, sorted(records))
    theirs = sorted({r for d in stored.values() for r in d.records})
    reuses_of = await repository.reuses_of_records(conn, theirs)
    audience_of = await repository.audience_of_records(conn, theirs)
    latest = {
        i: replace(d, reuses=reused(d.records, reuses_of), audience=audience(d.records, audience_of))
        for i, d in stored.items()
    }
    moved = {i: d for i, d in latest.items() if d != stored[i]}
    return await apply_facts(conn, moved, registry, projection, correlation_id) if moved else []


async def apply_facts(
    conn: asyncpg.Connection,
    latest: dict[str, DatasetFacts],
    registry: Registry,
    projection: Projection,
    correlation_id: str | None,
    titles: Mapping[str, str] | None = None,
) -> list[Event]:
    """Store these datasets' facts (and `titles`, for the api's list), move their organisations'
    publications by what changed, and recompute the scopes that moves."""
    previous = await repository.upsert_datasets(conn, list(latest.values()), titles)
    removed: dict[str, list[DatasetFacts]] = defaultdict(list)
    added: dict[str, list[DatasetFacts]] = defaultdict(list)
    for dataset in latest.values():
        if before := previous.get(dataset.id):
            removed[before.organization_id or ""].append(before)
        added[dataset.organization_id or ""].append(dataset)
    now = datetime.now(UTC)
    publications = {
        owner: tallied(registry.publications.get(owner, EMPTY), removed[owner], added[owner], now)
        for owner in removed.keys() | added.keys()
    }
    flipped = {o for o, p in publications.items() if registry.publications.get(o, EMPTY).publishes != p.publishes}
    await repository.save_publications(conn, publications, registry.publications)
    for owner, publication in publications.items():
        registry.set_publication(owner, publication)
    await projection.changed(conn, publications)
    scopes: set[Scope] = {NATIONAL}
    for owner in publications:
        if organization := registry.organizations.get(owner):
            # Coverage moves only when whether it publishes moves; a council's every row moves with it.
            scopes |= registry.touched_by(organization, coverage_moved=owner in flipped)
    return await recompute(conn, scopes, registry, correlation_id)


def observe_latency(trigger: str, events: list[OrganizationChanged] | list[DatasetChanged]) -> None:
    """How long the batch's oldest change waited for its indicators (commit excepted)."""
    oldest = min(e.occurred_at for e in events)
    metrics.INDICATORS_LATENCY.labels(trigger=trigger).observe((datetime.now(UTC) - oldest).total_seconds())


async def recompute(
    conn: asyncpg.Connection, scopes: set[Scope], registry: Registry, correlation_id: str | None = None
) -> list[Event]:
    """Compute these scopes; store, snapshot and announce the values that changed. The year's edition
    is taken on the first recomputation from its day on; entries and exits then count from it, in
    every scope, and the other instances reload (their baseline moved)."""
    now = datetime.now(UTC)
    values = registry.compute(scopes | registry.take_moved())
    changed = await repository.save_values(conn, values, now)
    if (now.month, now.day) >= EDITION_DAY and not await repository.has_edition(conn, now.year):
        await repository.take_edition(conn, now.year, now)
        registry.set_baseline(Baseline(now.year, registry.publishing_councils()))
        await repository.bump_projection_version(conn, None)
        registry.take_moved()  # every scope, below
        values = registry.compute(registry.every_scope())
        # The batch's own changes are announced too, with their values as of the new baseline.
        changed = list(dict.fromkeys([*changed, *await repository.save_values(conn, values, now)]))
    await repository.list_values(conn, [scope_id for scope, scope_id in changed if scope == "organization"])
    return [_updated(scope, values[scope], now, correlation_id) for scope in changed]


async def baseline(conn: asyncpg.Connection, organizations: dict[str, OrganizationFacts]) -> Baseline | None:
    """The last edition's publishers, as councils (None before the first edition)."""
    edition = await repository.last_edition_publishers(conn)
    return baseline_of(edition[0], edition[1], organizations) if edition else None


async def tally_again(conn: asyncpg.Connection, owners: list[str]) -> dict[str, Publication]:
    """These organisations' publications counted afresh from their datasets, and stored."""
    now = datetime.now(UTC)
    datasets = await repository.datasets_of(conn, owners)
    publications = {o: publication_of(d, now) for o, d in datasets.items()}
    await repository.save_publications(conn, publications)
    return publications


async def recompute_all(conn: asyncpg.Connection) -> list[Event]:
    """Every publication summary and every scope from the projection alone (the `recompute` command)."""
    await serialise(conn)
    await tally_again(conn, await repository.all_organization_ids_with_datasets(conn))
    projection = Projection()
    registry = await projection.current(conn)
    await projection.changed(conn, None)  # running instances reload everything
    emitted = await recompute(conn, registry.every_scope(), registry, "recompute")
    await repository.list_values(conn, None)
    await repository.index_title_words(conn, None)  # the datasets list's search words (migration 012)
    return emitted


def _updated(scope: Scope, values: Values, now: datetime, correlation_id: str | None) -> IndicatorsUpdated:
    return IndicatorsUpdated(
        producer=PRODUCER,
        correlation_id=correlation_id,
        scope=scope[0],
        scope_id=scope[1],
        values=values,
        computed_at=now,
    )
