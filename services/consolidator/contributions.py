"""Accepted contributions in the registry: a field of an organisation or of a dataset overridden
(overrides.py), a publisher linked to its organisation, a dataset no portal listed. Each handler runs
in the transaction that claims the event, as the harvest's do (handlers.py)."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from services.consolidator import organization_repository, repository
from services.consolidator.attribution import PublisherMatch
from services.consolidator.datasets import canonical_dataset, state_hash
from services.consolidator.handlers import (
    PRODUCER,
    place_records,
    refresh_datasets,
    save_organizations,
    with_contributions,
)
from services.consolidator.organizations import alias_keys
from services.consolidator.overrides import (
    DATASET_FIELDS,
    ORGANIZATION_FIELDS,
    Override,
    dataset_values,
    organization_values,
    with_value,
)
from shared.events import (
    ContributionAccepted,
    ContributionEvent,
    DatasetDiscovered,
    Emitted,
    Organization,
    Publisher,
    Resource,
)
from shared.matching import MatcherCache


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
        if event.field == "organization_id" and not await organization_repository.get_organizations(
            conn, [str(event.value)]
        ):
            raise ValueError(f"unknown organisation {event.value!r}")
        records = (await repository.records_of(conn, [event.dataset_id])).get(event.dataset_id)
        if not records:
            raise ValueError(f"unknown dataset {event.dataset_id!r}")
        base = dataset_values(canonical_dataset(event.dataset_id, records))[event.field]
        await organization_repository.save_override(conn, "dataset", event.dataset_id, override(base_value=base))
        return await refresh_datasets(conn, [event.dataset_id], cause=f"contribution:{event.contribution_id}")

    if event.field not in ORGANIZATION_FIELDS:
        raise ValueError(f"a contribution cannot change an organisation's {event.field!r}")
    current = (await organization_repository.get_organizations(conn, [event.organization_id])).get(
        event.organization_id
    )
    if current is None:
        raise ValueError(f"unknown organisation {event.organization_id!r}")
    # The harvested value is the base: the current one, unless an earlier contribution replaced it.
    existing = (await organization_repository.overrides_for(conn, "organization", [current.id])).get(current.id, [])
    earlier = next((o for o in existing if o.field == event.field), None)
    base = earlier.base_value if earlier else organization_values(current)[event.field]
    await organization_repository.save_override(conn, "organization", current.id, override(base_value=base))
    [updated] = await with_contributions(conn, [with_value(current, event.field, base, None)])
    with matchers.rolled_back_with():
        matchers.remember(updated)
        return await save_organizations(conn, [updated], cause=f"contribution:{event.contribution_id}")


@asynccontextmanager
async def publisher_known_as(
    conn: asyncpg.Connection, matchers: MatcherCache, portal_url: str, publisher: Publisher, organization_id: str
) -> AsyncIterator[None]:
    """Within: a contributor said this portal's publisher is this organisation; the registry remembers
    it under the publisher's aliases, and so does the matcher, until the transaction rolls back."""
    keys = alias_keys(portal_url, publisher)
    await organization_repository.set_aliases(conn, [(key, organization_id, "contribution") for key in keys])
    matcher = await matchers.get(conn)
    with matchers.rolled_back_with():
        matcher.aliases.update(dict.fromkeys(keys, organization_id))
        yield


async def link_publisher(
    conn: asyncpg.Connection, event: ContributionAccepted, matchers: MatcherCache
) -> list[Emitted]:
    """An unmatched publisher is this organisation (its SIREN, given by a contributor): remember it
    under the publisher's aliases for the next harvests, and attribute its datasets now."""
    if not isinstance(event.value, dict) or not {"portal_url", "name"} <= set(event.value):
        raise ValueError("a publisher to link is {portal_url, name, remote_id}")
    if not (await organization_repository.get_organizations(conn, [event.organization_id])):
        raise ValueError(f"unknown organisation {event.organization_id!r}")
    portal_url = str(event.value["portal_url"])
    publisher = Publisher(name=str(event.value["name"]), remote_id=event.value.get("remote_id") or None)
    async with publisher_known_as(conn, matchers, portal_url, publisher, event.organization_id):
        datasets = await organization_repository.link_publisher(conn, portal_url, publisher, event.organization_id)
        return await refresh_datasets(conn, datasets, cause=f"contribution:{event.contribution_id}")


CONTRIBUTED_SOURCE = "contributions"  # the source of datasets known from contributions (portal kind "contribution")


async def add_contributed_dataset(
    conn: asyncpg.Connection, event: ContributionAccepted, matchers: MatcherCache
) -> list[Emitted]:
    """A dataset no portal listed, found by a contributor: a record of the source `contributions` at
    the address's site, placed as a harvested record is (handlers.place_records: it joins the
    canonical dataset already known at the same landing page, if any), attributed to the organisation
    on the contribution's evidence; the site's publisher name is remembered as the organisation's."""
    organization = (await organization_repository.get_organizations(conn, [event.organization_id])).get(
        event.organization_id
    )
    if organization is None:
        raise ValueError(f"unknown organisation {event.organization_id!r}")
    if not isinstance(event.value, dict) or not {"title", "url"} <= set(event.value):
        raise ValueError("a contributed dataset is {title, url, description?, licence?}")
    record = contributed_record(event.contribution_id, event.value, organization)
    async with publisher_known_as(conn, matchers, record.portal_url, record.publisher, organization.id):
        match = PublisherMatch(organization.id, {"rule": "contribution", "confidence": 1.0})
        return await place_records(conn, [(record, match)], datetime.now(UTC), f"contribution:{event.contribution_id}")


def contributed_record(contribution_id: str, value: dict[str, Any], organization: Organization) -> DatasetDiscovered:
    """The portal record a contributed dataset stands as: source `contributions`, portal the site of
    its address, remote id the contribution's (a record in the shape every portal record takes; never
    published on a topic)."""
    url = str(value["url"])
    site = urlsplit(url)
    return DatasetDiscovered(
        producer=PRODUCER, run_id=f"contribution:{contribution_id}", source_id=CONTRIBUTED_SOURCE,
        portal_kind="contribution", portal_url=f"{site.scheme}://{site.netloc}", remote_id=contribution_id,
        remote_url=url, title=str(value["title"]), description=value.get("description"),
        publisher=Publisher(name=organization.name, siren=organization.siren, departement=organization.departement),
        licence=value.get("licence"), resources=[Resource(url=url)],
        content_hash=state_hash(json.dumps(value, sort_keys=True)),
    )  # fmt: skip
