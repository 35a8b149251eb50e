"""Canonical datasets: identity and state built from portal records."""

import uuid
from datetime import datetime

from shared.events import CanonicalDataset, DatasetDiscovered, DatasetSource

DATASET_NAMESPACE = uuid.UUID("6c1f3d0e-5b7a-4c47-9a53-0b6f4a2d8e11")


def canonical_id(source_id: str, remote_id: str) -> str:
    """Stable id of the canonical dataset first created from this portal record."""
    return str(uuid.uuid5(DATASET_NAMESPACE, f"{source_id}\x1f{remote_id}"))


def canonical_from(
    dataset_id: str, organization_id: str | None, event: DatasetDiscovered, sources: list[DatasetSource]
) -> CanonicalDataset:
    return CanonicalDataset(
        id=dataset_id,
        organization_id=organization_id,
        title=event.title,
        description=event.description,
        licence=event.licence,
        themes=event.themes,
        tags=event.tags,
        resources=event.resources,
        created=event.created,
        modified=event.modified,
        withdrawn=False,
        sources=sources,
    )


def source_record(event: DatasetDiscovered, first_seen: datetime, last_seen: datetime) -> DatasetSource:
    return DatasetSource(
        source_id=event.source_id,
        portal_kind=event.portal_kind,
        portal_url=event.portal_url,
        remote_id=event.remote_id,
        remote_url=event.remote_url,
        first_seen=first_seen,
        last_seen=last_seen,
    )
