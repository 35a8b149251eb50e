"""Which organisation published a record: the matcher's answer turned into a decision, and what the
registry learns from it (a SIREN, a new body, an alias, a publisher left for the moderators).

Pure: the handler loads the matcher, asks `attribute` for each publisher of a batch, then writes
what the decision says (handlers.attribute_publishers)."""

from dataclasses import dataclass
from typing import Any

from services.consolidator.organizations import alias_keys, organization_from_publisher
from shared.events import DatasetDiscovered, Organization, Publisher
from shared.identifiers import siren_from
from shared.matching import Matcher, MatchResult

# Bodies the référentiel may list without their SIREN (known by their COG code): a portal's SIREN
# for them is learned. For any other matched body, a different SIREN means another body.
LEARNS_SIREN = ("DEP", "REG", "COLOM", "COM")


@dataclass(frozen=True)
class PublisherMatch:
    organization_id: str | None
    attribution: dict[str, Any] | None  # rule and confidence of the match


@dataclass(frozen=True)
class Unmatched:
    """A publisher the matcher could not place, as seen in one batch."""

    portal_url: str
    publisher: Publisher
    result: MatchResult
    sightings: int


@dataclass(frozen=True)
class Attribution:
    """What one publisher of a batch tells the registry."""

    match: PublisherMatch
    learns_siren: tuple[str, str] | None = None  # (organisation id, its SIREN): it is known by the SIREN now
    created: Organization | None = None  # a body outside the référentiel, known by the SIREN its portal gives
    alias: tuple[str, str] | None = None  # (publisher's key, organisation id): next time, a plain lookup
    unmatched: Unmatched | None = None


def attribute(event: DatasetDiscovered, matcher: Matcher, sightings: int) -> Attribution:
    """The organisation behind the record's publisher, with the evidence, and what it teaches."""
    publisher = event.publisher
    keys = alias_keys(event.portal_url, publisher)
    siren = siren_from(publisher.siren)
    result = matcher.match(
        publisher.name, siren=siren, departement=publisher.departement, alias_keys=keys, owner=publisher.portal_owner
    )
    evidence = {"rule": result.best.rule, "confidence": result.best.confidence} if result.best else None
    learns_siren = created = None
    organization_id = result.best.organization_id if result.best else None
    if result.best and siren and result.best.rule not in ("siren", "former-siren"):
        matched = matcher.by_id[result.best.organization_id]
        if matched.siren is None and matched.type in LEARNS_SIREN:
            learns_siren, organization_id = (matched.id, siren), siren
        else:
            organization_id = None  # the portal's SIREN says it is another body than the name suggests
    if organization_id is None and siren:
        created = organization_from_publisher(siren, publisher, event.portal_url)
        organization_id, evidence = created.id, {"rule": "siren-new", "confidence": 1.0}
    if organization_id is None:
        return Attribution(
            PublisherMatch(None, None), unmatched=Unmatched(event.portal_url, publisher, result, sightings)
        )
    alias = (keys[0], organization_id) if matcher.aliases.get(keys[0]) != organization_id else None
    return Attribution(PublisherMatch(organization_id, evidence), learns_siren, created, alias)
