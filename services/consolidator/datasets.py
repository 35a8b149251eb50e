"""A canonical dataset from the records portals gave of it.

Every portal record is kept (its metadata, when it was first and last seen, whether it was
withdrawn). The canonical dataset shows one of them, the *primary* record: among the records not
withdrawn, the dataset's own portal before copies harvested from it, then the most recently modified,
then by source and remote id. Never by when a record was first seen: that depends on which portal's
harvest was consolidated first, and the same records must give the same dataset whatever order they
arrived in (a replay, a restart). Its organisation is the primary record's, else the first record
that has one. It is withdrawn only when every record is.
"""

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.consolidator.identity import is_origin
from shared.events import Attribution, CanonicalDataset, DatasetDiscovered, DatasetSource, Resource


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


RECORD_FIELDS = ("source_id", "remote_id", "portal_kind", "portal_url", "remote_url")  # as the event says them


def record_from(
    event: DatasetDiscovered, organization_id: str | None, attribution: dict[str, Any] | None, now: datetime
) -> PortalRecord:
    """The record as stored, built from the event that just created it (no need to read it back)."""
    metadata = {
        "title": event.title,
        "description": event.description,
        "licence": event.licence,
        "themes": event.themes,
        "tags": event.tags,
        "resources": event.resources,
        "created": event.created,
        "modified": event.modified,
        "publisher": {"name": event.publisher.name},
    }
    return PortalRecord(
        **{name: getattr(event, name) for name in RECORD_FIELDS},
        origin=is_origin(event), organization_id=organization_id, attribution=attribution, metadata=metadata,
        first_seen=now, last_seen=now, withdrawn_at=None,
    )  # fmt: skip


def by_preference(records: list[PortalRecord]) -> list[PortalRecord]:
    """Records not withdrawn first, then origin before copies, then latest modified, then by source
    and remote id (an order that does not depend on the order they arrived in)."""
    ordered = sorted(records, key=lambda r: (r.source_id, r.remote_id))
    ordered.sort(key=lambda r: _moment(r.metadata.get("modified")), reverse=True)
    ordered.sort(key=lambda r: (r.withdrawn_at is not None, not r.origin))
    return ordered


def _moment(value: Any) -> datetime:
    """A date as stored (ISO 8601 text read back from JSON) or as parsed (datetime); undated sorts first."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if isinstance(value, datetime) else datetime.min.replace(tzinfo=UTC)


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


LAST_SEEN = re.compile(r'"last_seen":"[^"]*"')


def state_hash(state_json: str) -> str:
    """What a consumer would see change, from the dataset's JSON: when each portal was last seen does
    not count."""
    return hashlib.sha256(LAST_SEEN.sub("", state_json).encode()).hexdigest()


def _source(record: PortalRecord) -> DatasetSource:
    """What a dataset's state says of one of its records: each of DatasetSource's fields, from the record's."""
    return DatasetSource(**{name: getattr(record, name) for name in DatasetSource.model_fields})


def _attribution(record: PortalRecord | None) -> Attribution | None:
    if record is None or not record.attribution:
        return None
    return Attribution(
        rule=record.attribution.get("rule", "unknown"),
        confidence=record.attribution.get("confidence", 0.0),
        source_id=record.source_id,
        publisher=(record.metadata.get("publisher") or {}).get("name"),
    )
