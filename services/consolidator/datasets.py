"""A canonical dataset from the records portals gave of it.

Every portal record is kept (its metadata, when it was first and last seen, whether it was
withdrawn). The canonical dataset shows one of them, the *primary* record: among the records not
withdrawn, the dataset's own portal before copies harvested from it, then the most recently modified,
then the first seen. Its organisation is the primary record's, else the first record that has one.
It is withdrawn only when every record is.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.events import Attribution, CanonicalDataset, DatasetSource, Resource


@dataclass(frozen=True)
class PortalRecord:
    source_id: str
    remote_id: str
    portal_kind: str
    portal_url: str
    remote_url: str | None
    origin: bool
    organization_id: str | None
    attribution: dict[str, Any] | None  # rule and confidence of the publisher's match
    metadata: dict[str, Any]  # what the portal said (the DatasetDiscovered without its envelope)
    first_seen: datetime
    last_seen: datetime
    withdrawn_at: datetime | None


def by_preference(records: list[PortalRecord]) -> list[PortalRecord]:
    """Records not withdrawn first, then origin before copies, then latest modified, then first seen."""
    ordered = sorted(records, key=lambda r: (r.first_seen, r.source_id, r.remote_id))
    ordered.sort(key=lambda r: str(r.metadata.get("modified") or ""), reverse=True)  # ISO 8601 sorts in time order
    ordered.sort(key=lambda r: (r.withdrawn_at is not None, not r.origin))
    return ordered


def canonical_dataset(dataset_id: str, records: list[PortalRecord]) -> CanonicalDataset:
    """The harvested state of the dataset (contributions are applied afterwards)."""
    ordered = by_preference(records)
    primary = ordered[0]
    attributed = next((r for r in ordered if r.organization_id), None)
    meta = primary.metadata
    return CanonicalDataset(
        id=dataset_id,
        organization_id=attributed.organization_id if attributed else None,
        title=meta["title"],
        description=meta.get("description"),
        licence=meta.get("licence"),
        themes=meta.get("themes") or [],
        tags=meta.get("tags") or [],
        resources=[Resource.model_validate(r) for r in meta.get("resources") or ()],
        created=meta.get("created"),
        modified=meta.get("modified"),
        withdrawn=all(r.withdrawn_at is not None for r in records),
        sources=[_source(r) for r in sorted(records, key=lambda r: (r.first_seen, r.source_id, r.remote_id))],
        attribution=_attribution(attributed),
    )


def state_hash(dataset: CanonicalDataset) -> str:
    """What a consumer would see change; when each portal was last seen does not count."""
    exclude: Any = {"sources": {"__all__": {"last_seen"}}}
    return hashlib.sha256(dataset.model_dump_json(exclude=exclude).encode()).hexdigest()


def _source(record: PortalRecord) -> DatasetSource:
    return DatasetSource(
        source_id=record.source_id,
        portal_kind=record.portal_kind,
        portal_url=record.portal_url,
        remote_id=record.remote_id,
        remote_url=record.remote_url,
        first_seen=record.first_seen,
        last_seen=record.last_seen,
        origin=record.origin,
        withdrawn_at=record.withdrawn_at,
    )


def _attribution(record: PortalRecord | None) -> Attribution | None:
    if record is None or not record.attribution:
        return None
    return Attribution(
        rule=record.attribution.get("rule", "unknown"),
        confidence=record.attribution.get("confidence", 0.0),
        source_id=record.source_id,
        publisher=(record.metadata.get("publisher") or {}).get("name"),
    )
