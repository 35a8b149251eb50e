"""Consolidation of harvested datasets into the registry. Each handler runs inside the transaction
that also claims the event in the inbox and stores the emitted events in the outbox."""

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from services.consolidator import repository
from services.consolidator.datasets import PortalRecord, canonical_dataset, record_from, state_hash
from services.consolidator.identity import canonical_id, is_identity_key, is_origin, record_keys
from services.consolidator.organizations import (
    alias_keys,
    merge_referentiel,
    merged_into,
    organization_from_publisher,
    with_learned_siren,
    without_taken_sirens,
)
from services.consolidator.overrides import (
    DATASET_FIELDS,
    ORGANIZATION_FIELDS,
    Override,
    apply_to_dataset,
    apply_to_organization,
    dataset_values,
    organization_values,
    with_value,
)
from services.consolidator.referentiel import alias_kind
from shared.events import (
    ContributionAccepted,
    ContributionEvent,
    DatasetDiscovered,
    Emitted,
    HarvestRunFinished,
    HarvestRunStarted,
    Organization,
    OrganizationChanged,
    Publisher,
    ReferentielEntry,
    Resource,
    serialised_dataset_changed,
)
from shared.identifiers import siren_from
from shared.matching import Matcher, MatcherCache

PRODUCER = "consolidator"


@dataclass(frozen=True)
class PublisherMatch:
    organization_id: str | None
    attribution: dict[str, Any] | None  # rule and confidence of the match


async def datasets_discovered(
    conn: asyncpg.Connection, events: list[DatasetDiscovered], matchers: MatcherCache, grace: timedelta
) -> list[Emitted]:
    """A batch, in one transaction: attribute each record, find its canonical dataset, store what
    changed, recompute the datasets it touched, then account the runs for withdrawals."""
    with matchers.rolled_back_with():  # organisations it remembers are rolled back with the transaction
        return await _consolidate(conn, events, matchers, grace)


async def _consolidate(
    conn: asyncpg.Connection, events: list[DatasetDiscovered], matchers: MatcherCache, grace: timedelta
) -> list[Emitted]:
    now = datetime.now(UTC)
    emitted: list[Emitted] = []
    latest = {(e.source_id, e.remote_id): e for e in events}  # a record sighted twice: its last sighting
    matcher = await matchers.get(conn)
    sightings = Counter((e.portal_url, e.publisher) for e in events)
    matches: dict[tuple[str, Publisher], PublisherMatch] = {}
    learned: list[tuple[str, str, str]] = []  # publisher aliases to remember, written once for the batch
    unmatched: list[repository.Unmatched] = []  # likewise, publishers no organisation was found for
    for event in latest.values():
        if (event.portal_url, event.publisher) not in matches:
            matches[(event.portal_url, event.publisher)] = await _resolve_publisher(
                conn,
                event,
                emitted,
                matcher,
                matchers,
                sightings[(event.portal_url, event.publisher)],
                learned,
                unmatched,
            )

    known = await repository.known_records(conn, list(latest))
    unchanged, updates = [], []
    for record_key, event in latest.items():
        match = matches[(event.portal_url, event.publisher)]
        before = known.get(record_key)
        if before and _unchanged(before, event, match):
            unchanged.append(event)
        else:
            updates.append((event, before, match))
    await repository.touch_records(conn, unchanged, now)  # a record seen again as it was: no grouping decided
    if updates:
        # From here to the commit, one instance at a time: which dataset a record joins depends on
        # every key and merge committed before (see repository.lock_identities). Under the lock, the
        # records are read again: another instance may have merged their dataset into another meanwhile.
        await repository.lock_identities(conn)
        current = await repository.known_records(conn, [(e.source_id, e.remote_id) for e, _, _ in updates])
        updates = [(event, current.get((event.source_id, event.remote_id)), m) for event, _, m in updates]

    dataset_of, merges, minted = await _identify(conn, [(event, before) for event, before, _ in updates])
    await repository.save_records(
        conn,
        [
            repository.RecordUpdate(
                event,
                dataset_of[(event.source_id, event.remote_id)],
                is_origin(event),
                m.organization_id,
                m.attribution,
            )
            for event, _, m in updates
        ],
        now,
    )
    # A dataset first seen in this batch has no record but the batch's: no need to read them back.
    fresh: dict[str, list[PortalRecord]] = {}
    for event, _, m in updates:
        if (dataset_id := dataset_of[(event.source_id, event.remote_id)]) in minted:
            fresh.setdefault(dataset_id, []).append(record_from(event, m.organization_id, m.attribution, now))
    touched = sorted({*dataset_of.values(), *merges})
    emitted += await refresh_datasets(conn, touched, cause=_runs_of(events), merges=merges, fresh=fresh)

    # Rows that concurrent instances share (publishers, runs) last, in a fixed order: their locks are
    # held from here to the commit only, and two instances never wait for each other in a circle.
    await repository.set_aliases(conn, sorted(learned))
    await repository.record_unmatched(conn, unmatched)
    runs = Counter((e.run_id, e.source_id) for e in events)
    await repository.count_consolidated(conn, runs)
    emitted += await account_runs(conn, sorted({run_id for run_id, _ in runs}), grace)
    return emitted


def _unchanged(before: repository.KnownRecord, event: DatasetDiscovered, match: PublisherMatch) -> bool:
    return (
        before.content_hash == event.content_hash
        and before.organization_id == match.organization_id
        and before.missing_since is None
        and before.withdrawn_at is None
    )


async def _identify(
    conn: asyncpg.Connection,
    records: list[tuple[DatasetDiscovered, repository.KnownRecord | None]],
) -> tuple[dict[tuple[str, str], str], dict[str, str], set[str]]:
    """The canonical dataset of each record, and the datasets found to be one (absorbed -> survivor).

    A record whose identity keys (id:, uri:) lead to several datasets joins them into one: the one
    named after its origin key if it is among them, else the owner of its strongest key. Weak keys
    (url:, files:) only attach a record no identity key placed, and never join datasets."""
    keys_of = {(e.source_id, e.remote_id): record_keys(e) for e, _ in records}
    stored = await repository.datasets_by_key(conn, sorted({k for keys in keys_of.values() for k in keys}))
    owners = dict(stored)
    dataset_of: dict[tuple[str, str], str] = {}
    merges: dict[str, str] = {}
    minted: set[str] = set()  # datasets created here: nothing of them is stored yet
    for event, before in records:
        keys = keys_of[(event.source_id, event.remote_id)]
        strong = [owners[k] for k in keys if k in owners and is_identity_key(k)]
        found = list(dict.fromkeys(_survivor(d, merges) for d in [*strong, *([before.dataset_id] if before else [])]))
        weak = next((_survivor(owners[k], merges) for k in keys if k in owners and not is_identity_key(k)), None)
        origin = _survivor(canonical_id(keys[0]), merges)
        dataset_id = origin if origin in found or not (found or weak) else (found[0] if found else weak)
        assert dataset_id is not None
        if not (found or weak):
            minted.add(dataset_id)
        for absorbed in found:
            if absorbed != dataset_id:
                merges[absorbed] = dataset_id
        dataset_of[(event.source_id, event.remote_id)] = dataset_id
        for key in keys:
            owners.setdefault(key, dataset_id)  # a later record of the same batch finds it too
    merges = {absorbed: _survivor(absorbed, merges) for absorbed in merges}
    dataset_of = {record: _survivor(d, merges) for record, d in dataset_of.items()}
    await repository.save_keys(conn, sorted((k, _survivor(d, merges)) for k, d in owners.items() if k not in stored))
    await repository.merge_datasets(conn, merges)
    # A dataset minted here that absorbed a stored one holds stored records too: it is read back.
    minted -= set(merges) | set(merges.values())
    return dataset_of, merges, minted


def _survivor(dataset_id: str, merges: dict[str, str]) -> str:
    while dataset_id in merges:  # A absorbed by B, B by C: A's records end in C
        dataset_id = merges[dataset_id]
    return dataset_id


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
    await repository.lock_datasets(conn, dataset_ids)
    states = await repository.dataset_states(conn, dataset_ids)
    # Datasets this batch created hold only its records, unless another instance created them meanwhile.
    fresh = {d: records for d, records in (fresh or {}).items() if d not in states}
    records = fresh | await repository.records_of(conn, [d for d in dataset_ids if d not in fresh])
    overrides = await repository.overrides_for(conn, "dataset", dataset_ids)
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
            await repository.expire_overrides(conn, "dataset", dataset_id, expired)
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
    return [serialised_dataset_changed(PRODUCER, cause, c.change, c.dataset.id, c.state) for c in changes]


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


async def _resolve_publisher(
    conn: asyncpg.Connection,
    event: DatasetDiscovered,
    emitted: list[Emitted],
    matcher: Matcher,
    matchers: MatcherCache,
    sightings: int,
    learned: list[tuple[str, str, str]],
    unmatched: list[repository.Unmatched],
) -> PublisherMatch:
    """The organisation behind the dataset's publisher, with the evidence (unmatched: recorded, None)."""
    publisher, source = event.publisher, f"portal:{event.portal_url}"
    keys = alias_keys(event.portal_url, publisher)
    siren = siren_from(publisher.siren)
    result = matcher.match(
        publisher.name, siren=siren, departement=publisher.departement, alias_keys=keys, owner=publisher.portal_owner
    )
    changed: list[Organization] = []
    attribution = {"rule": result.best.rule, "confidence": result.best.confidence} if result.best else None
    if result.best and siren and result.best.rule not in ("siren", "former-siren"):
        matched = matcher.by_id[result.best.organization_id]
        if matched.siren is None and matched.type in ("DEP", "REG", "COLOM", "COM"):
            # the matcher indexes a few fields: the whole state, as this transaction sees it, is the registry's
            current = (await repository.get_organizations(conn, [matched.id]))[matched.id]
            renamed, replaced = with_learned_siren(current, siren, source)
            await repository.replace_organization_id(conn, replaced.id, renamed.id)
            changed += [renamed, replaced]
            organization_id: str | None = renamed.id
        else:
            organization_id = None  # the portal's SIREN says it is another body than the name suggests
    else:
        organization_id = result.best.organization_id if result.best else None
    if organization_id is None and siren:
        created = organization_from_publisher(siren, publisher, event.portal_url)
        changed.append(created)
        organization_id = created.id
        attribution = {"rule": "siren-new", "confidence": 1.0}
    if changed:
        changed = await with_contributions(conn, changed)
        emitted += await save_organizations(conn, changed, cause=source, correlation_id=event.run_id)
        for organization in changed:
            matchers.remember(organization)
    if organization_id is None:
        unmatched.append(repository.Unmatched(event.portal_url, publisher, result, sightings))
        return PublisherMatch(None, None)
    if matcher.aliases.get(keys[0]) != organization_id:  # remember the publisher: next time a plain lookup
        learned.append((keys[0], organization_id, "portal-publisher"))
        matcher.aliases[keys[0]] = organization_id
    return PublisherMatch(organization_id, attribution)


async def with_contributions(conn: asyncpg.Connection, organizations: list[Organization]) -> list[Organization]:
    """The organisations with their accepted contributions applied (expired ones are marked so)."""
    overrides = await repository.overrides_for(conn, "organization", [o.id for o in organizations])
    result = []
    for organization in organizations:
        applied, expired = apply_to_organization(organization, overrides.get(organization.id, []))
        if expired:
            await repository.expire_overrides(conn, "organization", organization.id, expired)
        result.append(applied)
    return result


async def save_organizations(
    conn: asyncpg.Connection, organizations: list[Organization], cause: str, correlation_id: str | None = None
) -> list[Emitted]:
    """Save these organisations (contributions already applied) and announce them."""
    await repository.save_organizations(conn, organizations, cause=cause)
    return [
        OrganizationChanged(producer=PRODUCER, correlation_id=correlation_id or cause, organization=o)
        for o in organizations
    ]


async def contribution_accepted(
    conn: asyncpg.Connection, event: ContributionEvent, matchers: MatcherCache
) -> list[Emitted]:
    """An accepted contribution overrides a field of an organisation or of one of its datasets."""
    if not isinstance(event, ContributionAccepted):
        return []  # submissions and rejections change nothing in the registry
    if event.field == "portal":
        return []  # a portal to harvest: the harvester adds it as a source
    if event.field == "publisher":
        return await link_publisher(conn, event, matchers)
    if event.field == "dataset":
        return await add_contributed_dataset(conn, event, matchers)
    override = partial(Override, field=event.field, value=event.value, contribution_id=event.contribution_id)
    if event.dataset_id:
        if event.field not in DATASET_FIELDS:
            raise ValueError(f"a contribution cannot change a dataset's {event.field!r}")
        if event.field == "organization_id" and not await repository.get_organizations(conn, [str(event.value)]):
            raise ValueError(f"unknown organisation {event.value!r}")
        records = (await repository.records_of(conn, [event.dataset_id])).get(event.dataset_id)
        if not records:
            raise ValueError(f"unknown dataset {event.dataset_id!r}")
        base = dataset_values(canonical_dataset(event.dataset_id, records))[event.field]
        await repository.save_override(conn, "dataset", event.dataset_id, override(base_value=base))
        return await refresh_datasets(conn, [event.dataset_id], cause=f"contribution:{event.contribution_id}")

    if event.field not in ORGANIZATION_FIELDS:
        raise ValueError(f"a contribution cannot change an organisation's {event.field!r}")
    current = (await repository.get_organizations(conn, [event.organization_id])).get(event.organization_id)
    if current is None:
        raise ValueError(f"unknown organisation {event.organization_id!r}")
    # The harvested value is the base: the current one, unless an earlier contribution replaced it.
    existing = (await repository.overrides_for(conn, "organization", [current.id])).get(current.id, [])
    earlier = next((o for o in existing if o.field == event.field), None)
    base = earlier.base_value if earlier else organization_values(current)[event.field]
    await repository.save_override(conn, "organization", current.id, override(base_value=base))
    [updated] = await with_contributions(conn, [with_value(current, event.field, base, None)])
    with matchers.rolled_back_with():
        matchers.remember(updated)
        return await save_organizations(conn, [updated], cause=f"contribution:{event.contribution_id}")


async def link_publisher(
    conn: asyncpg.Connection, event: ContributionAccepted, matchers: MatcherCache
) -> list[Emitted]:
    """An unmatched publisher is this organisation (its SIREN, given by a contributor): remember it
    under the publisher's aliases for the next harvests, and attribute its datasets now."""
    if not isinstance(event.value, dict) or not {"portal_url", "name"} <= set(event.value):
        raise ValueError("a publisher to link is {portal_url, name, remote_id}")
    if not (await repository.get_organizations(conn, [event.organization_id])):
        raise ValueError(f"unknown organisation {event.organization_id!r}")
    portal_url = str(event.value["portal_url"])
    publisher = Publisher(name=str(event.value["name"]), remote_id=event.value.get("remote_id") or None)
    keys = alias_keys(portal_url, publisher)
    await repository.set_aliases(conn, [(key, event.organization_id, "contribution") for key in keys])
    matcher = await matchers.get(conn)
    with matchers.rolled_back_with():
        matcher.aliases.update(dict.fromkeys(keys, event.organization_id))
        datasets = await repository.link_publisher(conn, portal_url, publisher, event.organization_id)
        return await refresh_datasets(conn, datasets, cause=f"contribution:{event.contribution_id}")


CONTRIBUTED_SOURCE = "contributions"  # the source of datasets known from contributions (portal kind "contribution")


async def add_contributed_dataset(
    conn: asyncpg.Connection, event: ContributionAccepted, matchers: MatcherCache
) -> list[Emitted]:
    """A dataset no portal listed, found by a contributor: a record of the source `contributions`
    at the address's site, consolidated as a harvested one (it joins the canonical dataset already
    known at the same landing page, if any) and attributed to the organisation through an alias."""
    organization = (await repository.get_organizations(conn, [event.organization_id])).get(event.organization_id)
    if organization is None:
        raise ValueError(f"unknown organisation {event.organization_id!r}")
    if not isinstance(event.value, dict) or not {"title", "url"} <= set(event.value):
        raise ValueError("a contributed dataset is {title, url, description?, licence?}")
    url = str(event.value["url"])
    site = urlsplit(url)
    publisher = Publisher(name=organization.name, siren=organization.siren, departement=organization.departement)
    discovered = DatasetDiscovered(
        producer=PRODUCER, run_id=f"contribution:{event.contribution_id}", source_id=CONTRIBUTED_SOURCE,
        portal_kind="contribution", portal_url=f"{site.scheme}://{site.netloc}", remote_id=event.contribution_id,
        remote_url=url, publisher=publisher, title=str(event.value["title"]),
        description=event.value.get("description"), licence=event.value.get("licence"),
        resources=[Resource(url=url)], content_hash=state_hash(json.dumps(event.value, sort_keys=True)),
    )  # fmt: skip
    keys = alias_keys(discovered.portal_url, publisher)
    await repository.set_aliases(conn, [(key, organization.id, "contribution") for key in keys])
    matcher = await matchers.get(conn)
    with matchers.rolled_back_with():
        matcher.aliases.update(dict.fromkeys(keys, organization.id))
        return await datasets_discovered(conn, [discovered], matchers, grace=timedelta(0))


async def referentiel_entries(conn: asyncpg.Connection, events: list[ReferentielEntry]) -> list[Emitted]:
    """Merge a batch of référentiel entries into the registry; announce only what changed."""
    listed = {e.organization.id: e.organization for e in events}
    # An organisation may be known under another id now (a département that learned its SIREN).
    registry_id = {i: owner for i, owner in (await repository.alias_owners(conn, list(listed))).items()}
    current = await repository.get_organizations(conn, [registry_id.get(i, i) for i in listed])
    merged = [merge_referentiel(current.get(registry_id.get(i, i)), o) for i, o in listed.items()]
    merged = without_taken_sirens(merged, await repository.siren_holders(conn, [o.siren for o in merged if o.siren]))
    changed = {after.id: after for after in await with_contributions(conn, merged) if after != current.get(after.id)}

    # A commune merged into another: its INSEE code is now among the successor's former codes.
    alias_rows = [
        (alias, registry_id.get(listed_id, listed_id), alias_kind(alias))
        for listed_id, organization in listed.items()
        for alias in organization.aliases
    ]
    previous_owners = await repository.alias_owners(conn, [alias for alias, _, _ in alias_rows])
    absorbed = {
        old: new
        for alias, new, kind in alias_rows
        if kind == "insee" and (old := previous_owners.get(alias)) and old != new and old not in listed
    }
    for old_id, organization in (await repository.get_organizations(conn, list(absorbed))).items():
        if organization.status != "merged" or organization.successor_id != absorbed[old_id]:
            changed[old_id] = merged_into(organization, absorbed[old_id])

    cause = f"referentiel:{events[0].version}"
    emitted = await save_organizations(conn, list(changed.values()), cause=cause)
    await repository.set_aliases(conn, alias_rows)
    return emitted
