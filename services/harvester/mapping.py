"""Normalisation shared by every portal family: licences and formats to small vocabularies, and the
content hash that lets the consolidator skip what did not change."""

import hashlib
import json
from datetime import datetime
from typing import Any

from shared.events import Publisher, Resource, UpstreamOrigin

LICENCES = {
    "fr-lo": "licence-ouverte",
    "lov2": "licence-ouverte",
    "licence ouverte": "licence-ouverte",
    "licence ouverte v2.0": "licence-ouverte",
    "etalab-2.0": "licence-ouverte",
    "odc-odbl": "odbl",
    "odbl": "odbl",
    "open database license (odbl)": "odbl",
    "cc-by": "cc-by",
    "cc-by-4.0": "cc-by",
    "cc-by-sa": "cc-by-sa",
    "cc0": "cc0",
    "cc-zero": "cc0",
    "notspecified": "non-specifiee",
    "other-closed": "fermee",
}
FORMATS = {
    "csv": "csv",
    "text/csv": "csv",
    "json": "json",
    "application/json": "json",
    "geojson": "geojson",
    "xlsx": "xlsx",
    "xls": "xls",
    "ods": "ods",
    "pdf": "pdf",
    "shp": "shp",
    "shapefile": "shp",
    "zip": "zip",
    "xml": "xml",
    "gtfs": "gtfs",
    "kml": "kml",
    "api": "api",
}


def normalise_licence(raw: str | None) -> str | None:
    if not raw or not raw.strip():
        return None
    key = raw.strip().lower()
    return LICENCES.get(key, "autre")


def normalise_format(raw: str | None) -> str | None:
    if not raw or not raw.strip():
        return None
    key = raw.strip().lower().lstrip(".")
    return FORMATS.get(key, key)


def content_hash(
    *,
    title: str,
    description: str | None,
    publisher: Publisher,
    licence: str | None,
    themes: list[str],
    tags: list[str],
    resources: list[Resource],
    created: datetime | None,
    modified: datetime | None,
    upstream: UpstreamOrigin | None,
    remote_url: str | None,
) -> str:
    """SHA-256 of what the portal says about the dataset, independent of the run that saw it."""
    payload: dict[str, Any] = {
        "title": title,
        "description": description,
        "publisher": publisher.model_dump(),
        "licence": licence,
        "themes": sorted(themes),
        "tags": sorted(tags),
        "resources": [r.model_dump(mode="json") for r in resources],
        "created": created.isoformat() if created else None,
        "modified": modified.isoformat() if modified else None,
        "upstream": upstream.model_dump() if upstream else None,
        "remote_url": remote_url,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
