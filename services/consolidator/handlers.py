"""Consolidation of harvested datasets into the registry. Each handler runs inside the transaction
that also claims the event in the inbox and stores the emitted events in the outbox."""

from datetime import UTC, datetime

import asyncpg

from services.consolidator import repository
from services.consolidator.datasets import canonical_from, canonical_id
from services.consolidator.organizations import (
    alias_keys,
    merge_referentiel,
    merged_into,
    organization_from_publisher,
    with_learned_siren,
)
from shared.events import (
    DatasetChanged,
    DatasetDiscovered,
    Event,
    Organization,
    OrganizationChanged,
    ReferentielEntry,
)
from shared.identifiers import siren_from
from shared.matching import Matcher, MatcherCache

PRODUCER = "consolidator"


async def dataset_discovered(conn: asyncpg.Connection, event: DatasetDiscovered, matchers: MatcherCache) -> list[Event]:
    now = datetime.now(UTC)
    emitted: list[Event] = []
    organization_id = await _resolve_publisher(conn, event, emitted, await matchers.get(conn), matchers)

    existing = await repository.find_source_record(conn, event.source_id, event.remote_id)
    if (
        existing
        and existing.content_hash == event.content_hash
        and (await repository.dataset_organization(conn, existing.dataset_id) == organization_id)
    ):
        # Same content as last time: remember we saw it, emit nothing.
        await repository.touch_source(conn, event.source_id, event.remote_id, event.run_id, now)
        return emitted

    dataset_id = existing.dataset_id if existing else canonical_id(event.source_id, event.remote_id)
    provisional = canonical_from(dataset_id, organization_id, event, sources=[])
    await repository.upsert_dataset(conn, provisional)
    await repository.upsert_source(conn, dataset_id, event, now)
    dataset = provisional.model_copy(update={"sources": await repository.sources_of(conn, dataset_id)})
    emitted.append(
        DatasetChanged(
            producer=PRODUCER,
            correlation_id=event.run_id,
            change="updated" if existing else "created",
            dataset=dataset,
        )
    )
    return emitted


async def datasets_discovered(
    conn: asyncpg.Connection, events: list[DatasetDiscovered], matchers: MatcherCache
) -> list[Event]:
    """A batch, in one transaction, in partition order."""
    emitted: list[Event] = []
    for event in events:
        emitted += await dataset_discovered(conn, event, matchers)
    return emitted


async def _resolve_publisher(
    conn: asyncpg.Connection,
    event: DatasetDiscovered,
    emitted: list[Event],
    matcher: Matcher,
    matchers: MatcherCache,
) -> str | None:
    """The organisation behind the dataset's publisher, or None (then recorded as unmatched)."""
    publisher, source = event.publisher, f"portal:{event.portal_url}"
    keys = alias_keys(event.portal_url, publisher)
    siren = siren_from(publisher.siren)
    result = matcher.match(publisher.name, siren=siren, departement=publisher.departement, alias_keys=keys)
    changed: list[Organization] = []
    if result.best and siren and result.best.rule != "siren":
        matched = matcher.by_id[result.best.organization_id]
        if matched.siren is None and matched.type in ("DEP", "REG", "COLOM", "COM"):
            renamed, replaced = with_learned_siren(matched, siren, source)
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
    if changed:
        await repository.save_organizations(conn, changed, cause=source)
        for organization in changed:
            matchers.remember(organization)
            emitted.append(
                OrganizationChanged(producer=PRODUCER, correlation_id=event.run_id, organization=organization)
            )
    if organization_id is None:
        await repository.record_unmatched(conn, event.portal_url, publisher, result)
        return None
    if result.best is None or result.best.rule != "alias":
        await repository.set_aliases(conn, [(keys[0], organization_id, "portal-publisher")])
        matcher.aliases[keys[0]] = organization_id
    return organization_id


async def referentiel_entries(conn: asyncpg.Connection, events: list[ReferentielEntry]) -> list[Event]:
    """Merge a batch of référentiel entries into the registry; announce only what changed."""
    listed = {e.organization.id: e.organization for e in events}
    # An organisation may be known under another id now (a département that learned its SIREN).
    registry_id = {i: owner for i, owner in (await repository.alias_owners(conn, list(listed))).items()}
    current = await repository.get_organizations(conn, [registry_id.get(i, i) for i in listed])
    changed: dict[str, Organization] = {}
    for listed_id, organization in listed.items():
        before = current.get(registry_id.get(listed_id, listed_id))
        after = merge_referentiel(before, organization)
        if after != before:
            changed[after.id] = after

    # A commune merged into another: its INSEE code is now among the successor's former codes.
    alias_rows = [
        (alias, registry_id.get(listed_id, listed_id), "insee")
        for listed_id, organization in listed.items()
        for alias in organization.aliases
    ]
    previous_owners = await repository.alias_owners(conn, [alias for alias, _, _ in alias_rows])
    absorbed = {
        old: new
        for alias, new, _ in alias_rows
        if (old := previous_owners.get(alias)) and old != new and old not in listed
    }
    for old_id, organization in (await repository.get_organizations(conn, list(absorbed))).items():
        if organization.status != "merged" or organization.successor_id != absorbed[old_id]:
            changed[old_id] = merged_into(organization, absorbed[old_id])

    cause = f"referentiel:{events[0].version}"
    await repository.save_organizations(conn, list(changed.values()), cause=cause)
    await repository.set_aliases(conn, alias_rows)
    return [OrganizationChanged(producer=PRODUCER, correlation_id=cause, organization=o) for o in changed.values()]
