"""Consolidation of harvested datasets into the registry. Each handler runs inside the transaction
that also records its batch as handled (the offsets it read up to; the inbox for contributions) and
stores the emitted events in the outbox."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import asyncpg

from services.consolidator import organization_repository, repository
from services.consolidator.attribution import Attribution, PublisherMatch, attribute
from services.consolidator.datasets import PortalRecord, canonical_dataset, record_from, state_hash
from services.consolidator.identity import IdentityPlan, is_origin, plan_identities, record_keys
from services.consolidator.organizations import (
    merge_referentiel,
    merged_into,
    with_learned_siren,
    without_taken_sirens,
)
from services.consolidator.overrides import (
    apply_to_dataset,
    apply_to_organization,
)
from services.consolidator.referentiel import alias_kind
from shared.batch import Handled
from shared.events import (
    DatasetDiscovered,
    Emitted,
    HarvestRunFinished,
    HarvestRunStarted,
    Organization,
    OrganizationChanged,
    Publisher,
    ReferentielEntry,
    serialised_dataset_changed,
)
from shared.matching import MatcherCache

PRODUCER = "consolidator"


async def datasets_discovered(
    conn: asyncpg.Connection, events: list[DatasetDiscovered], matchers: MatcherCache, grace: timedelta
) -> Handled:
    """A batch, in one transaction: leave out the sightings already applied (copies of an event, at
    offsets past the stored ones), attribute each record, find its canonical dataset, store what
    changed, recompute the datasets it touched, then account the runs for withdrawals."""
    known = await repository.known_records(conn, list({(e.source_id, e.remote_id) for e in events}))
    fresh = [e for e in events if not sighting_held(known.get((e.source_id, e.remote_id)), e)]
    if not fresh:
        return Handled([], already_applied=len(events))
    with matchers.rolled_back_with():  # organisations it remembers are rolled back with the transaction
        emitted = await _consolidate(conn, fresh, known, matchers, grace)
    return Handled(emitted, already_applied=len(events) - len(fresh))


def sighting_held(before: repository.KnownRecord | None, event: DatasetDiscovered) -> bool:
    """Whether the record already holds this sighting: a copy of the one it applied (same run, time
    and content: an event published twice) or one older than it (a copy arriving late)."""
    if before is None or before.seen_at is None:
        return False
    if event.occurred_at != before.seen_at:
        return event.occurred_at < before.seen_at
    return event.run_id == before.last_run_id and event.content_hash == before.content_hash


async def _consolidate(
    conn: asyncpg.Connection,
    events: list[DatasetDiscovered],
    known: dict[tuple[str, str], repository.KnownRecord],
    matchers: MatcherCache,
    grace: timedelta,
) -> list[Emitted]:
    now = datetime.now(UTC)
    latest = {(e.source_id, e.remote_id): e for e in events}  # a record sighted twice: its last sighting
    attributions, emitted = await attribute_publishers(conn, events, list(latest.values()), matchers)
    matches = {publisher: a.match for publisher, a in attributions.items()}

    unchanged, updates = [], []
    for record_key, event in latest.items():
        match = matches[(event.portal_url, event.publisher)]
        before = known.get(record_key)
        if before and _unchanged(before, event, match):
            unchanged.append(event)
        else:
            updates.append((event, match))
    await repository.touch_records(conn, unchanged, now)  # a record seen again as it was: no grouping decided
    if updates:
        emitted += await place_records(conn, updates, now, cause=_runs_of(events), known=set(known))

    # Rows that concurrent instances share (publishers, runs) last, in a fixed order: their locks are
    # held from here to the commit only, and two instances never wait for each other in a circle.
    learned = [(*a.alias, "portal-publisher") for a in attributions.values() if a.alias]
    await organization_repository.set_aliases(conn, sorted(learned))
    await organization_repository.record_unmatched(conn, [a.unmatched for a in attributions.values() if a.unmatched])
    runs = Counter((e.run_id, e.source_id) for e in events)
    await repository.count_consolidated(conn, runs)
    emitted += await account_runs(conn, sorted({run_id for run_id, _ in runs}), grace)
    return emitted


async def place_records(
    conn: asyncpg.Connection,
    updates: list[tuple[DatasetDiscovered, PublisherMatch]],
    now: datetime,
    cause: str | None,
    known: set[tuple[str, str]] | None = None,
) -> list[Emitted]:
    """New or changed records, each with its organisation: the dataset each joins
    (identity.plan_identities), the records saved, the datasets they touch computed again. `known`:
    the records stored when the batch read them before this lock (None: every one may be)."""
    # From here to the commit, one instance at a time: which dataset a record joins depends on every
    # key and merge committed before (see repository.lock_identities). Under the lock, the known
    # records are read again: another instance may have merged their dataset into another meanwhile.
    # A record unknown then is still unknown: only its partition's consumer stores it (events are
    # keyed by record), and that partition's offsets row is locked by this transaction (shared/batch.py).
    await repository.lock_identities(conn)
    keys = [(e.source_id, e.remote_id) for e, _ in updates]
    current = await repository.known_records(conn, [k for k in keys if known is None or k in known])
    plan = await _identify(conn, [(event, current.get((event.source_id, event.remote_id))) for event, _ in updates])
    dataset_of = plan.dataset_of
    await repository.save_records(
        conn,
        [repository.RecordUpdate(e, dataset_of[(e.source_id, e.remote_id)], is_origin(e), m.organization_id,
                                 m.attribution, new=(e.source_id, e.remote_id) not in current) for e, m in updates],
        now,
    )  # fmt: skip
    # A dataset first seen here has no record but these: no need to read them back.
    fresh: dict[str, list[PortalRecord]] = {}
    for event, m in updates:
        if (dataset_id := dataset_of[(event.source_id, event.remote_id)]) in plan.minted:
            fresh.setdefault(dataset_id, []).append(record_from(event, m.organization_id, m.attribution, now))
    touched = sorted({*dataset_of.values(), *plan.merges})
    return await refresh_datasets(conn, touched, cause=cause, merges=plan.merges, fresh=fresh)


def _unchanged(before: repository.KnownRecord, event: DatasetDiscovered, match: PublisherMatch) -> bool:
    return (
        before.content_hash == event.content_hash
        and before.organization_id == match.organization_id
        and before.missing_since is None
        and before.withdrawn_at is None
    )


async def _identify(
    conn: asyncpg.Connection, records: list[tuple[DatasetDiscovered, repository.KnownRecord | None]]
) -> IdentityPlan:
    """The canonical dataset of each record (identity.plan_identities), its new keys and merges stored."""
    keyed = [((e.source_id, e.remote_id), record_keys(e), b.dataset_id if b else None) for e, b in records]
    stored = await repository.datasets_by_key(conn, sorted({k for _, keys, _ in keyed for k in keys}))
    plan = plan_identities(keyed, stored)
    await repository.save_keys(conn, plan.new_keys)
    await repository.merge_datasets(conn, plan.merges)
    return plan


async def refresh_datasets(
    conn: asyncpg.Connection,
    dataset_ids: list[str],
    cause: str | None,
    merges: dict[str, str] | None = None,
    fresh: dict[str, list[PortalRecord]] | None = None,
) -> list[Emitted]:
    """Recompute these canonical datasets from their records and contributions; announce those whose
    state changed (a dataset computed again to the same state emits nothing). A dataset absorbed
    by another (`merges`) is announced withdrawn, pointing to the one that holds its records now."""
    if not dataset_ids:
        return []
    # A dataset minted by this batch (`fresh`) is nobody else's yet: only the instance holding the
    # identity lock mints, under an id no stored key leads to. It has no lock to take, no state,
    # records or overrides to read: a first consolidation reads nothing back.
    fresh = fresh or {}
    stored = [d for d in dataset_ids if d not in fresh]
    await repository.lock_datasets(conn, stored)
    states = await repository.dataset_states(conn, stored)
    records = fresh | await repository.records_of(conn, stored)
    overrides = await organization_repository.overrides_for(conn, "dataset", stored)
    changes: list[repository.DatasetChange] = []
    for dataset_id in dataset_ids:
        if dataset_id in records:
            dataset, expired = apply_to_dataset(
                canonical_dataset(dataset_id, records[dataset_id]), overrides.get(dataset_id, [])
            )
        elif (merges or {}).get(dataset_id) and (previous := await repository.get_dataset(conn, dataset_id)):
            update = {"withdrawn": True, "sources": [], "merged_into": (merges or {})[dataset_id]}
            dataset, expired = previous.model_copy(update=update), []
        else:
            continue
        if expired:
            await organization_repository.expire_overrides(conn, "dataset", dataset_id, expired)
        state = dataset.model_dump_json()
        digest, before = state_hash(state), states.get(dataset_id)
        if before and before.state_hash == digest:
            continue
        if before is None:
            change = "created"
        elif dataset.withdrawn and not before.withdrawn:
            change = "withdrawn"
        else:
            change = "updated"
        changes.append(repository.DatasetChange(dataset, state, digest, change))
    await repository.save_datasets(conn, changes, cause)
    return [serialised_dataset_changed(PRODUCER, cause, c.change, c.dataset.id, c.state_hash, c.state) for c in changes]


async def account_runs(conn: asyncpg.Connection, run_ids: list[str], grace: timedelta) -> list[Emitted]:
    """Apply the withdrawals of the runs whose every dataset has been consolidated."""
    emitted: list[Emitted] = []
    for run in await repository.runs_to_account(conn, run_ids):
        withdrawn: list[str] = []
        if may_withdraw(run):
            withdrawn = await repository.withdraw_missing(conn, run, grace)
            emitted += await refresh_datasets(conn, withdrawn, cause=run.run_id)
        await repository.mark_accounted(conn, run.run_id, len(withdrawn))
    return emitted


def may_withdraw(run: repository.HarvestRun) -> bool:
    """Only a complete full run lists every dataset of its source, and only if every item that failed
    is known by its remote id (an item that failed is not missing)."""
    return bool(
        run.complete
        and run.mode == "full"
        and run.started_at is not None
        and len(run.error_remote_ids) >= (run.errors or 0)
    )


async def harvest_runs(
    conn: asyncpg.Connection, events: list[HarvestRunStarted | HarvestRunFinished], grace: timedelta
) -> list[Emitted]:
    finished = [e for e in events if isinstance(e, HarvestRunFinished)]
    for run in finished:
        await repository.record_finished_run(conn, run)
    return await account_runs(conn, [run.run_id for run in finished], grace)


def _runs_of(events: list[DatasetDiscovered]) -> str | None:
    runs = sorted({e.run_id for e in events})
    return runs[0] if len(runs) == 1 else None


async def attribute_publishers(
    conn: asyncpg.Connection, events: list[DatasetDiscovered], latest: list[DatasetDiscovered], matchers: MatcherCache
) -> tuple[dict[tuple[str, Publisher], Attribution], list[Emitted]]:
    """Each publisher of the batch attributed (attribution.attribute), the organisations it made
    known saved and remembered by the matcher before the next publisher is looked up."""
    matcher = await matchers.get(conn)
    sightings = Counter((e.portal_url, e.publisher) for e in events)
    attributions: dict[tuple[str, Publisher], Attribution] = {}
    emitted: list[Emitted] = []
    for event in latest:
        publisher = (event.portal_url, event.publisher)
        if publisher in attributions:
            continue
        attributions[publisher] = decided = attribute(event, matcher, sightings[publisher])
        emitted += await _learn_organizations(conn, decided, event, matchers)
        if decided.alias:
            key, organization_id = decided.alias
            matcher.aliases[key] = organization_id
    return attributions, emitted


async def _learn_organizations(
    conn: asyncpg.Connection, decided: Attribution, event: DatasetDiscovered, matchers: MatcherCache
) -> list[Emitted]:
    """Save the organisations an attribution changed: a body that learned its SIREN, a new body."""
    changed: list[Organization] = []
    if decided.learns_siren:
        organization_id, siren = decided.learns_siren
        # the matcher indexes a few fields: the whole state, as this transaction sees it, is the registry's
        current = (await organization_repository.get_organizations(conn, [organization_id]))[organization_id]
        renamed, replaced = with_learned_siren(current, siren, f"portal:{event.portal_url}")
        await organization_repository.replace_organization_id(conn, replaced.id, renamed.id)
        changed += [renamed, replaced]
    if decided.created:
        changed.append(decided.created)
    if not changed:
        return []
    changed = await with_contributions(conn, changed)
    emitted = await save_organizations(conn, changed, cause=f"portal:{event.portal_url}", correlation_id=event.run_id)
    for organization in changed:
        matchers.remember(organization)
    return emitted


async def with_contributions(conn: asyncpg.Connection, organizations: list[Organization]) -> list[Organization]:
    """The organisations with their accepted contributions applied (expired ones are marked so)."""
    overrides = await organization_repository.overrides_for(conn, "organization", [o.id for o in organizations])
    result = []
    for organization in organizations:
        applied, expired = apply_to_organization(organization, overrides.get(organization.id, []))
        if expired:
            await organization_repository.expire_overrides(conn, "organization", organization.id, expired)
        result.append(applied)
    return result


async def save_organizations(
    conn: asyncpg.Connection, organizations: list[Organization], cause: str, correlation_id: str | None = None
) -> list[Emitted]:
    """Save these organisations (contributions already applied) and announce them."""
    await organization_repository.save_organizations(conn, organizations, cause=cause)
    return [
        OrganizationChanged(producer=PRODUCER, correlation_id=correlation_id or cause, organization=o)
        for o in organizations
    ]


async def referentiel_entries(conn: asyncpg.Connection, events: list[ReferentielEntry]) -> list[Emitted]:
    """Merge a batch of référentiel entries into the registry; announce only what changed."""
    listed = {e.organization.id: e.organization for e in events}
    # An organisation may be known under another id now (a département that learned its SIREN).
    registry_id = {i: owner for i, owner in (await organization_repository.alias_owners(conn, list(listed))).items()}
    current = await organization_repository.get_organizations(conn, [registry_id.get(i, i) for i in listed])
    merged = [merge_referentiel(current.get(registry_id.get(i, i)), o) for i, o in listed.items()]
    merged = without_taken_sirens(
        merged, await organization_repository.siren_holders(conn, [o.siren for o in merged if o.siren])
    )
    changed = {after.id: after for after in await with_contributions(conn, merged) if after != current.get(after.id)}

    # A commune merged into another: its INSEE code is now among the successor's former codes.
    alias_rows = [
        (alias, registry_id.get(listed_id, listed_id), alias_kind(alias))
        for listed_id, organization in listed.items()
        for alias in organization.aliases
    ]
    previous_owners = await organization_repository.alias_owners(conn, [alias for alias, _, _ in alias_rows])
    absorbed = {
        old: new
        for alias, new, kind in alias_rows
        if kind == "insee" and (old := previous_owners.get(alias)) and old != new and old not in listed
    }
    for old_id, organization in (await organization_repository.get_organizations(conn, list(absorbed))).items():
        if organization.status != "merged" or organization.successor_id != absorbed[old_id]:
            changed[old_id] = merged_into(organization, absorbed[old_id])

    cause = f"referentiel:{events[0].version}"
    emitted = await save_organizations(conn, list(changed.values()), cause=cause)
    await organization_repository.set_aliases(conn, alias_rows)
    return emitted
