"""What the contributions service does: keep the registry's current values, take proposals, record
moderators' decisions. Each change writes its events to the outbox in the same transaction."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from services.contributions import repository
from services.contributions.proposals import PUBLISHER_FIELD, Invalid, ProposalIn, check_value, current_value
from services.contributions.repository import Proposal
from shared.auth import Principal
from shared.events import (
    ContributionAccepted,
    ContributionRejected,
    ContributionSubmitted,
    DatasetChanged,
    Event,
    OrganizationChanged,
)

PRODUCER = "contributions"


class Conflict(Exception):
    """The proposal was already decided."""


async def organizations_changed(conn: asyncpg.Connection, events: list[OrganizationChanged]) -> list[Event]:
    await repository.upsert_known_organizations(conn, [e.organization for e in events])
    return []


async def datasets_changed(conn: asyncpg.Connection, events: list[DatasetChanged]) -> list[Event]:
    await repository.upsert_known_datasets(conn, [e.dataset for e in events])
    return []


async def submit(conn: asyncpg.Connection, body: ProposalIn, client_hash: str) -> tuple[Proposal, list[Event]]:
    """Check the proposal against the registry and store it pending (or as spam, silently, when the
    hidden field was filled: robots learn nothing)."""
    value = check_value(body)
    organization_id = body.organization_id
    publisher = body.publisher.model_dump() if body.publisher else None
    if body.field == PUBLISHER_FIELD:
        organization_id = await repository.organization_with_siren(conn, value)
        if organization_id is None:
            raise Invalid("aucune organisation connue n'a ce SIREN")
    elif await repository.organization(conn, organization_id or "") is None:
        raise Invalid("organisation inconnue")
    if body.dataset_id:
        dataset = await repository.dataset(conn, body.dataset_id)
        if dataset is None or dataset.get("organization_id") != organization_id:
            raise Invalid("ce jeu de données n'est pas connu pour cette organisation")
        if body.field == "organization_id" and await repository.organization(conn, value) is None:
            raise Invalid("l'organisation proposée est inconnue")
    spam = bool(body.homepage)
    proposal = Proposal(
        id=uuid4(), field=body.field, value=value, organization_id=organization_id, dataset_id=body.dataset_id,
        publisher=publisher, comment=body.comment, status="spam" if spam else "pending",
        submitted_at=datetime.now(UTC),
    )  # fmt: skip
    await repository.add_proposal(conn, proposal, client_hash)
    await repository.audit(conn, "public", None, "spam" if spam else "submitted", proposal.id, None)
    if spam:
        return proposal, []
    event = ContributionSubmitted(producer=PRODUCER, comment=body.comment, **_target(proposal))
    return proposal, [event]


async def decide(
    conn: asyncpg.Connection, proposal_id: UUID, accept: bool, moderator: Principal, comment: str | None
) -> tuple[Proposal, list[Event]]:
    """Accept or reject a pending proposal; the accepted ones go to the consolidator (and, for a
    portal, to the harvester) through contributions.events."""
    proposal = await repository.get_proposal(conn, proposal_id, for_update=True)
    if proposal is None:
        raise LookupError(proposal_id)
    if proposal.status != "pending":
        raise Conflict(proposal.status)
    status = "accepted" if accept else "rejected"
    decided = await repository.decide(conn, proposal_id, status, moderator.name, comment)
    await repository.audit(conn, moderator.name, moderator.role, status, proposal_id, comment)
    kind = ContributionAccepted if accept else ContributionRejected
    return decided, [kind(producer=PRODUCER, moderator=moderator.name, comment=comment, **_target(decided))]


def _target(proposal: Proposal) -> dict[str, Any]:
    """The event's view of a proposal: a publisher to link travels as the field `publisher` of the
    organisation its SIREN names, with the publisher as the value."""
    value = proposal.value
    if proposal.field == PUBLISHER_FIELD:
        value = {**(proposal.publisher or {}), "siren": proposal.value}
    return {"contribution_id": str(proposal.id), "organization_id": proposal.organization_id or "",
            "field": proposal.field, "value": value, "dataset_id": proposal.dataset_id}  # fmt: skip


async def with_current_values(conn: asyncpg.Connection, proposals: list[Proposal]) -> list[dict[str, Any]]:
    """Each proposal as moderators see it: beside the registry's current value and the target's name."""
    organizations = await repository.organizations(conn, [p.organization_id for p in proposals if p.organization_id])
    datasets = await repository.datasets(conn, [p.dataset_id for p in proposals if p.dataset_id])
    shown = []
    for proposal in proposals:
        organization = organizations.get(proposal.organization_id or "")
        dataset = datasets.get(proposal.dataset_id or "")
        shown.append({
            **proposal.public(),
            "organization_name": organization.get("name") if organization else None,
            "dataset_title": dataset.get("title") if dataset else None,
            "current_value": current_value(proposal.field, organization, dataset),
            "decided_by": proposal.decided_by,
        })  # fmt: skip
    return shown
