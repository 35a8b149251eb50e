"""CKAN Action API: `/api/3/action/package_search`.

`rows` is silently clamped to 1,000 (paging must follow `len(results)`, not the requested rows);
errors come as `{"success": false, "error": {...}}`, sometimes with HTTP 200; `fq=metadata_modified:[X TO *]`
filters for incremental runs and a double-encoded `fq` is refused, as Solr would. Timestamps have no
time zone, as CKAN writes them.
"""

import re
from datetime import datetime
from typing import Any

from aiohttp import web

from simulated_portals.catalogue import SimDataset, World, dataset, schema_url, stable_hex
from simulated_portals.quirks import every, portal_of, with_quirks

ROWS_MAX = 1000
FQ_MODIFIED = re.compile(r"^metadata_modified:\[(\S+) TO \*\]$")


def routes(world: World) -> list[web.RouteDef]:
    async def package_search(request: web.Request) -> web.Response:
        portal = portal_of(request, world)
        if every(portal.quirks.success_false_every, world.request_counts.get(portal.path, 0)):
            return _failure("Search Error", "SOLR returned an error running query", status=200)
        try:
            rows = min(int(request.query.get("rows", "10")), portal.rows_max, ROWS_MAX)
            start = int(request.query.get("start", "0"))
        except ValueError:
            return _failure("Validation Error", "rows and start must be integers", status=409)
        indices = list(range(portal.size))
        fq = request.query.get("fq")
        if fq:
            match = FQ_MODIFIED.match(fq)
            if "%" in fq or "+" in fq or not match:
                return _failure("Search Query Error", f"Invalid search query: {fq}", status=400)
            since = datetime.fromisoformat(match.group(1).replace("Z", "+00:00")).replace(tzinfo=None)
            indices = [i for i in indices if dataset(portal, i).modified.replace(tzinfo=None) >= since]
        if request.query.get("sort", "") == "id asc":
            indices.sort(key=lambda i: dataset(portal, i).id)
        if portal.quirks.repeat_forever:
            start = 0
        chosen = indices[start : start + rows]
        return web.json_response(
            {
                "help": f"{request.url.origin()}{portal.path}/api/3/action/help_show?name=package_search",
                "success": True,
                "result": {
                    "count": len(indices),
                    "results": [_package(dataset(portal, i)) for i in chosen],
                    "facets": {},
                    "search_facets": {},
                },
            }
        )

    async def status_show(request: web.Request) -> web.Response:
        """What every CKAN answers at `status_show` (ckan/logic/action/get.py), family detection reads it."""
        portal_of(request, world)
        return web.json_response({
            "help": f"{request.url.origin()}/api/3/action/help_show?name=status_show",
            "success": True,
            "result": {"site_title": "CKAN", "site_url": str(request.url.origin()), "site_description": "",
                       "locale_default": "fr", "error_emails_to": None, "ckan_version": "2.10.4",
                       "extensions": ["activity", "datastore", "dcat"]},
        })  # fmt: skip

    return [
        web.get("/{family:ckan}/{slug}/api/3/action/package_search", with_quirks(world, package_search)),
        web.get("/{family:ckan}/{slug}/api/3/action/status_show", status_show),
    ]


def _failure(kind: str, message: str, status: int) -> web.Response:
    return web.json_response(
        {"help": "", "success": False, "error": {"__type": kind, "message": message}}, status=status
    )


def _naive(moment: datetime) -> str:
    return moment.replace(tzinfo=None).isoformat()


def _package(d: SimDataset) -> dict[str, Any]:
    organization = d.publisher
    return {
        "id": d.id,
        "name": d.ckan_name,
        "title": d.title,
        "notes": d.description,
        "license_id": d.licence or None,
        "license_title": d.licence or None,
        "url": "",
        "private": False,
        "state": "active",
        "type": "dataset",
        "metadata_created": _naive(d.created),
        "metadata_modified": _naive(d.modified),
        "owner_org": organization.remote_id,
        "organization": {
            "id": organization.remote_id,
            "name": organization.remote_id[:12],
            "title": organization.name,
            "type": "organization",
            "is_organization": True,
            "state": "active",
        },
        "tags": [{"name": t, "display_name": t, "state": "active"} for t in d.tags],
        "groups": [{"title": t, "name": t.lower()} for t in d.themes],
        "resources": [
            {
                "id": stable_hex(d.id, n, length=32),
                "position": n,
                "format": fmt,
                "url": url,
                "name": url.rsplit("/", 1)[-1],
                "last_modified": _naive(d.modified),
                **({"schema": schema_url(schema)} if schema else {}),
            }
            for n, (url, fmt, schema) in enumerate(d.resources)
        ],
        "extras": [{"key": "frequency", "value": "monthly"}],
    }
