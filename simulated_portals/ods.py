"""OpenDataSoft Explore API v2.1.

`/api/explore/v2.1/catalog/datasets`: `{total_count, results}`, `limit` at most 100 (default 10) and
`offset + limit` at most 10,000, else 400 `{"message", "error_code"}` in the words real portals
answer ("Invalid value for sum of offset + limit API parameter: 10001 was found but <= 10000 is
expected.", error_code InvalidRESTParameterError, as a public question about a real portal quotes
it); `where=modified >= date'...'` and `order_by=modified desc` for incremental runs.
`/catalog/exports/json` returns the whole catalogue without those limits. Federated datasets carry
`federated`, `source_domain` (the domain's name) and `source_domain_address` (its address), as ODS's
documentation names them.
"""

import re
from datetime import datetime
from typing import Any

from aiohttp import web

from simulated_portals.catalogue import PortalSpec, SimDataset, World, audience_of, dataset, stable_hex
from simulated_portals.quirks import portal_of, with_quirks

WHERE_MODIFIED = re.compile(r"^\s*modified\s*>=\s*date'([^']+)'\s*$")
LICENCE_TEXT = {"fr-lo": "Licence Ouverte (Etalab)", "lov2": "Licence Ouverte v2.0 (Etalab)", "odc-odbl": "ODbL"}


def routes(world: World) -> list[web.RouteDef]:
    async def datasets(request: web.Request) -> web.Response:
        portal = portal_of(request, world)
        limit = _int(request, "limit", 10)
        offset = _int(request, "offset", 0)
        if limit > 100 or limit < -1:
            return _error("Invalid value for limit: the maximum is 100.")
        if offset + limit > 10_000:  # the real portals' rule and words (see the module docstring)
            return _error(
                f"Invalid value for sum of offset + limit API parameter: {offset + limit} was found "
                "but <= 10000 is expected."
            )
        indices = _selected(request, portal)
        base = _base(request, portal)
        if portal.quirks.repeat_forever:
            offset = 0
        return web.json_response(
            {
                "total_count": len(indices) if not portal.quirks.repeat_forever else 10**6,
                "results": [
                    _dataset(world, request, dataset(portal, i), base) for i in indices[offset : offset + limit]
                ],
            }
        )

    async def export_json(request: web.Request) -> web.Response:
        portal = portal_of(request, world)
        base = _base(request, portal)
        return web.json_response(
            [_dataset(world, request, dataset(portal, i), base) for i in _selected(request, portal)]
        )

    prefix = "/{family:ods}/{slug}/api/explore/v2.1/catalog"
    return [
        web.get(f"{prefix}/datasets", with_quirks(world, datasets)),
        web.get(f"{prefix}/exports/json", with_quirks(world, export_json)),
    ]


def _selected(request: web.Request, portal: PortalSpec) -> list[int]:
    indices = list(range(portal.size))
    where = request.query.get("where")
    if where:
        match = WHERE_MODIFIED.match(where)
        if not match:
            raise web.HTTPBadRequest(
                text='{"message": "ODSQL query is malformed", "error_code": "ODSQLError"}',
                content_type="application/json",
            )
        since = datetime.fromisoformat(match.group(1))
        indices = [i for i in indices if dataset(portal, i).modified.replace(tzinfo=None) >= since.replace(tzinfo=None)]
    if request.query.get("order_by", "").replace(" ", "") == "modifieddesc":
        indices.sort(key=lambda i: dataset(portal, i).modified, reverse=True)
    return indices


def _int(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name, str(default))
    try:
        return int(raw)
    except ValueError:
        raise web.HTTPBadRequest(
            text=f'{{"message": "Invalid value for {name}", "error_code": "InvalidRESTParameterError"}}',
            content_type="application/json",
        ) from None


def _error(message: str) -> web.Response:
    return web.json_response({"message": message, "error_code": "InvalidRESTParameterError"}, status=400)


def _base(request: web.Request, portal: PortalSpec) -> str:
    return f"{request.url.origin()}{portal.path}"


def _dataset(world: World, request: web.Request, d: SimDataset, base: str) -> dict[str, Any]:
    """A dataset as ODS lists it. A federated one is a copy of a dataset of another ODS portal of the
    world (its metadata, and where it comes from: `source_domain`, the domain's name, its
    `source_domain_address` and `source_dataset`), under its own dataset_id here."""
    origin = world.federation_source(d.portal) if d.federated_from else None
    federation = (d.federated_from, d.federated_from) if d.federated_from else None
    shown = d
    if origin is not None:
        shown = dataset(origin, d.index % origin.size)
        federation = (origin.slug, f"{request.url.raw_authority}{origin.path}")  # the simulator's domain address
    return _listing(d, shown, base, federation)


def _listing(d: SimDataset, shown: SimDataset, base: str, federation: tuple[str, str] | None) -> dict[str, Any]:
    """`federation`: the source domain's name and address (ODS's theme documentation names them
    `source_domain` and `source_domain_address`). Attachments are `odsfile://` URLs, as in v2.1."""
    name, address = federation or (None, None)
    return {
        "dataset_id": d.id,
        "dataset_uid": f"da_{stable_hex(d.portal.slug, d.index, length=6)}",
        "has_records": True,
        "features": ["analyze"],
        "attachments": [
            {
                "id": f"att-{n}",
                "title": url.rsplit("/", 1)[-1],
                "url": f"odsfile://{url.rsplit('/', 1)[-1]}",
                "mimetype": fmt,
            }
            for n, (url, fmt, _) in enumerate(shown.resources)
            if fmt == "pdf"
        ],
        "fields": [{"name": "id", "label": "Identifiant", "type": "text"}],
        "metas": {
            "default": {
                "title": shown.title,
                "description": shown.description,
                "publisher": shown.publisher.name,
                "license": LICENCE_TEXT.get(shown.licence, shown.licence) or None,
                "keyword": list(shown.tags),
                "theme": list(shown.themes),
                "modified": shown.modified.isoformat(),
                "metadata_processed": shown.modified.isoformat(),
                "records_count": 10 + d.index,
                "federated": federation is not None,
                "source_domain": name,
                "source_domain_address": address,
                "source_domain_title": f"Portail {name}" if name else None,
                "source_dataset": shown.id if federation else None,
                "references": d.landing_page(base),
            },
            "explore": {
                "reuse_count": 0,
                "download_count": audience_of(d).downloads,
                "attachment_download_count": 0,
                "file_field_download_count": 0,
                "api_call_count": audience_of(d).views,
                "popularity_score": 1.0,
            },
        },
    }
