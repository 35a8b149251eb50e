"""udata API v1 (data.gouv.fr): `/api/1/datasets/` with its `{data, page, page_size, total, next_page}`
envelope and absolute `next_page` URLs, and `/api/1/organizations/<id>/` with `business_number_id`."""

import json
from typing import Any

from aiohttp import web

from simulated_portals.catalogue import Catalogue, SimDataset, SimOrganization

DEFAULT_PAGE_SIZE = 20


def routes(catalogue: Catalogue, prefix: str = "/udata") -> list[web.RouteDef]:
    async def datasets(request: web.Request) -> web.Response:
        page = _positive_int(request, "page", 1)
        page_size = _positive_int(request, "page_size", DEFAULT_PAGE_SIZE)
        start = (page - 1) * page_size
        items = catalogue.datasets[start : start + page_size]
        has_next = start + page_size < len(catalogue.datasets)
        next_url = request.url.update_query(page=page + 1) if has_next else None
        previous = request.url.update_query(page=page - 1) if page > 1 else None
        return web.json_response(
            {
                "data": [_dataset(d, request) for d in items],
                "page": page,
                "page_size": page_size,
                "total": len(catalogue.datasets),
                "next_page": str(next_url) if next_url else None,
                "previous_page": str(previous) if previous else None,
            }
        )

    async def organization(request: web.Request) -> web.Response:
        org = catalogue.organization(request.match_info["org_id"])
        if org is None:
            return web.json_response({"message": "Not found", "status": 404}, status=404)
        return web.json_response(_organization(org, request, full=True))

    return [
        web.get(f"{prefix}/api/1/datasets/", datasets),
        web.get(f"{prefix}/api/1/organizations/{{org_id}}/", organization),
    ]


def _positive_int(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        body = {"errors": {name: "must be a positive integer"}, "message": "Input payload validation failed"}
        raise web.HTTPBadRequest(text=json.dumps(body), content_type="application/json")
    return value


def _organization(org: SimOrganization, request: web.Request, full: bool = False) -> dict[str, Any]:
    base = f"{request.url.origin()}{request.path.split('/api/1/')[0]}"
    payload: dict[str, Any] = {
        "id": org.id,
        "name": org.name,
        "slug": org.name.lower().replace(" ", "-"),
        "uri": f"{base}/api/1/organizations/{org.id}/",
        "page": f"{base}/organizations/{org.id}/",
        "badges": [{"kind": "local-authority"}],
        "class": "Organization",
    }
    if full:
        payload["business_number_id"] = org.siret
    return payload


def _dataset(d: SimDataset, request: web.Request) -> dict[str, Any]:
    base = f"{request.url.origin()}{request.path.split('/api/1/')[0]}"
    return {
        "id": d.id,
        "title": d.title,
        "slug": d.id,
        "description": d.description,
        "created_at": d.created_at.isoformat(),
        "last_modified": d.last_modified.isoformat(),
        "last_update": d.last_modified.isoformat(),
        "license": d.licence,
        "tags": d.tags,
        "frequency": "unknown",
        "page": f"{base}/datasets/{d.id}/",
        "uri": f"{base}/api/1/datasets/{d.id}/",
        "organization": _organization(d.organization, request),
        "owner": None,
        "harvest": d.harvest,
        "resources": [{"filetype": "remote", "type": "main", **r} for r in d.resources],
        "archived": None,
        "deleted": None,
        "private": False,
    }
