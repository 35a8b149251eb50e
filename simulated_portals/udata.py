"""udata API v1 (data.gouv.fr and other udata portals).

`/api/1/datasets/` answers `{data, page, page_size, total, next_page, previous_page}` with absolute
`next_page` URLs; `page` and `page_size` must be positive (400 otherwise); `sort=-last_update` orders
by last modification. `/api/1/organizations/<id>/` gives `business_number_id` (a SIRET). On the
`datagouv` portal, datasets harvested from local portals carry their `harvest` block.
`/api/1/reuses/` pages the portal's reuses the same way, each naming its datasets as references.
"""

import csv
import io
import json
from functools import cache
from typing import Any

from aiohttp import web

from simulated_portals.catalogue import (
    PortalSpec,
    Publisher,
    SimDataset,
    SimReuse,
    World,
    audience_of,
    dataset,
    reuses,
    stable_hex,
)
from simulated_portals.quirks import portal_of, with_quirks

DEFAULT_PAGE_SIZE = 20
BACKEND_OF_FAMILY = {"ods": "DCAT", "ckan": "CKAN", "dcat": "DCAT", "arcgis": "DCAT", "csw": "CSW-ISO-19139"}


def routes(world: World) -> list[web.RouteDef]:
    @cache
    def order(portal: PortalSpec, sort: str) -> list[tuple[PortalSpec, int]]:
        items = [(portal, i) for i in range(portal.size)]
        if portal.slug == world.datagouv_slug:
            items += world.mirrors
        if sort == "-last_update":
            items.sort(key=lambda item: dataset(*item).modified, reverse=True)
        return items

    @cache
    def organizations() -> dict[str, Publisher]:
        return {p.remote_id: p for portal in world.portals for p in portal.publishers}

    async def datasets(request: web.Request) -> web.Response:
        portal = portal_of(request, world)
        page = _positive_int(request, "page", 1)
        page_size = _positive_int(request, "page_size", DEFAULT_PAGE_SIZE)
        items = order(portal, request.query.get("sort", ""))
        start = 0 if portal.quirks.repeat_forever else (page - 1) * page_size
        chosen = items[start : start + page_size]
        has_next = portal.quirks.repeat_forever or start + page_size < len(items)
        base = _base(request, portal)
        return web.json_response(
            {
                "data": [_dataset(dataset(p, i), base, mirrored=p is not portal, request=request) for p, i in chosen],
                "page": page,
                "page_size": page_size,
                "total": len(items),
                "next_page": str(request.url.update_query(page=page + 1)) if has_next else None,
                "previous_page": str(request.url.update_query(page=page - 1)) if page > 1 else None,
            }
        )

    async def organization(request: web.Request) -> web.Response:
        portal = portal_of(request, world)
        publisher = organizations().get(request.match_info["org_id"])
        if publisher is None:
            return web.json_response({"message": "Not found", "status": 404}, status=404)
        return web.json_response(_organization(publisher, _base(request, portal), full=True))

    async def reuse_list(request: web.Request) -> web.Response:
        portal = portal_of(request, world)
        page = _positive_int(request, "page", 1)
        page_size = _positive_int(request, "page_size", DEFAULT_PAGE_SIZE)
        listed = reuses(portal)
        chosen = listed[(page - 1) * page_size : page * page_size]
        has_next = page * page_size < len(listed)
        base = _base(request, portal)
        return web.json_response(
            {
                "data": [_reuse(r, base) for r in chosen],
                "page": page,
                "page_size": page_size,
                "total": len(listed),
                "next_page": str(request.url.update_query(page=page + 1)) if has_next else None,
                "previous_page": str(request.url.update_query(page=page - 1)) if page > 1 else None,
            }
        )

    prefix = "/{family:udata}/{slug}/api/1"
    return [
        web.get(f"{prefix}/datasets/", with_quirks(world, datasets)),
        web.get(f"{prefix}/reuses/", with_quirks(world, reuse_list)),
        web.get(f"{prefix}/organizations/{{org_id}}/", with_quirks(world, organization)),
    ]


def _positive_int(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    value = int(raw) if raw.lstrip("-").isdigit() else 0
    if value <= 0:
        body = {"errors": {name: "must be a positive integer"}, "message": "Input payload validation failed"}
        raise web.HTTPBadRequest(text=json.dumps(body), content_type="application/json")
    return value


def _base(request: web.Request, portal: PortalSpec) -> str:
    return f"{request.url.origin()}{portal.path}"


def _organization(publisher: Publisher, base: str, full: bool = False) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": publisher.remote_id,
        "name": publisher.name,
        "slug": publisher.remote_id,
        "uri": f"{base}/api/1/organizations/{publisher.remote_id}/",
        "page": f"{base}/organizations/{publisher.remote_id}/",
        "badges": [{"kind": "local-authority"}],
        "class": "Organization",
    }
    if full:
        payload["business_number_id"] = publisher.siret
    return payload


def _dataset(d: SimDataset, base: str, mirrored: bool, request: web.Request) -> dict[str, Any]:
    udata_id = d.id if d.portal.family == "udata" else stable_hex(d.portal.slug, d.index)
    counted = audience_of(d)
    harvest = None
    if mirrored:
        # Where data.gouv.fr harvested it from: the local portal as served here.
        local = f"{request.url.origin()}{d.portal.path}"
        remote_id = d.landing_page(local) if d.portal.family == "ods" else d.id
        harvest = {
            "backend": BACKEND_OF_FAMILY[d.portal.family],
            "domain": request.url.raw_authority,
            "remote_id": remote_id,
            "remote_url": d.landing_page(local),
            "source_id": stable_hex("source", d.portal.slug),
            "modified_at": d.modified.isoformat(),
        }
    return {
        "id": udata_id,
        "title": d.title,
        "slug": udata_id,
        "description": d.description,
        "created_at": d.created.isoformat(),
        "last_modified": d.modified.isoformat(),
        "last_update": d.modified.isoformat(),
        "license": d.licence or "notspecified",
        "tags": list(d.tags),
        "frequency": "unknown",
        "page": f"{base}/datasets/{udata_id}/",
        "uri": f"{base}/api/1/datasets/{udata_id}/",
        "organization": _organization(d.publisher, base),
        "owner": None,
        "harvest": harvest,
        "resources": [
            {
                "id": f"{n:08d}-{udata_id[:8]}",
                "filetype": "remote",
                "type": "main",
                "format": fmt,
                "url": url,
                "schema": _schema(schema),
            }
            for n, (url, fmt, schema) in enumerate(d.resources)
        ],
        "archived": None,
        "deleted": None,
        "private": False,
        "metrics": {
            "discussions": 0,
            "followers": counted.followers,
            "reuses": 0,
            "views": counted.views,
            "resources_downloads": counted.downloads,
        },
    }


def _dataset_reference(d: SimDataset, base: str) -> dict[str, Any]:
    return {"id": d.id, "title": d.title, "class": "Dataset", "acronym": None,
            "page": f"{base}/datasets/{d.id}/", "uri": f"{base}/api/1/datasets/{d.id}/"}  # fmt: skip


def _reuse(r: SimReuse, base: str) -> dict[str, Any]:
    """A reuse as udata's API v1 gives it: its datasets as references (id, title, uri, page)."""
    used = [dataset(r.portal, i) for i in r.datasets]
    return {
        "id": r.id,
        "title": r.title,
        "slug": r.id,
        "type": r.type,
        "url": r.url,
        "page": f"{base}/reuses/{r.id}/",
        "uri": f"{base}/api/1/reuses/{r.id}/",
        "description": f"Réutilisation de {len(used)} jeu(x) de données.",
        "datasets": [_dataset_reference(d, base) for d in used],
        "organization": _organization(used[0].publisher, base),
        "owner": None,
        "created_at": r.created.isoformat(),
        "last_modified": r.created.isoformat(),
        "deleted": None,
        "private": False,
        "metrics": {"datasets": len(used), "discussions": 0, "followers": 0, "views": 0},
    }


CSV_COLUMNS = (
    "id",
    "title",
    "slug",
    "url",
    "organization",
    "organization_id",
    "description",
    "license",
    "created_at",
    "last_modified",
    "tags",
    "resources_formats",
    "harvest.backend",
    "harvest.domain",
    "harvest.remote_id",
    "harvest.remote_url",
    "metric.followers",
    "metric.views",
    "metric.resources_downloads",
)


# udata's ResourcesCsvAdapter (udata/core/dataset/csv.py), in its order.
RESOURCE_CSV_COLUMNS = (
    "dataset.id", "dataset.title", "dataset.slug", "dataset.url", "dataset.organization", "dataset.organization_id",
    "dataset.license", "dataset.private", "dataset.archived", "id", "url", "title", "description", "filetype", "type",
    "format", "mime", "filesize", "checksum.type", "checksum.value", "created_at", "modified", "downloads",
    "harvest.issued_at", "harvest.modified_at", "harvest.last_update", "schema_name", "schema_version", "preview_url",
    "extras",
)  # fmt: skip


# The header of data.gouv.fr's reuse export (tests/data/real/udata/datagouv-export-reuses.csv), in its order.
REUSE_CSV_COLUMNS = (
    "id", "title", "slug", "url", "type", "description", "remote_url", "organization", "organization_id", "owner",
    "owner_id", "image", "featured", "created_at", "last_modified", "archived", "topic", "tags", "datasets",
    "metric.discussions", "metric.discussions_open", "metric.datasets", "metric.followers",
    "metric.followers_by_months", "metric.views",
)  # fmt: skip


def csv_routes(world: World) -> list[web.RouteDef]:
    """`/api/1/site/datasets.csv` and `/organizations.csv`: the daily exports of a whole udata site,
    `;`-separated, as data.gouv.fr publishes them."""

    def exported(request: web.Request) -> list[dict[str, Any]]:
        """The site's datasets as its API gives them (data.gouv.fr's with the copies it holds)."""
        portal = portal_of(request, world)
        base = _base(request, portal)
        items = [(portal, i) for i in range(portal.size)]
        if portal.slug == world.datagouv_slug:
            items += world.mirrors
        return [_dataset(dataset(p, i), base, mirrored=p is not portal, request=request) for p, i in items]

    def csv_writer(out: io.StringIO, columns: tuple[str, ...]) -> Any:
        writer = csv.writer(out, delimiter=";", quotechar='"', quoting=csv.QUOTE_MINIMAL)
        writer.writerow(columns)
        return writer

    async def datasets_csv(request: web.Request) -> web.Response:
        out = io.StringIO()
        writer = csv_writer(out, CSV_COLUMNS)
        for row in exported(request):
            harvest = row["harvest"] or {}
            writer.writerow(
                [
                    row["id"],
                    row["title"],
                    row["slug"],
                    row["page"],
                    row["organization"]["name"],
                    row["organization"]["id"],
                    row["description"],
                    row["license"],
                    row["created_at"],
                    row["last_modified"],
                    ",".join(row["tags"]),
                    ",".join(sorted({r["format"] for r in row["resources"] if r["format"]})),
                    harvest.get("backend", ""),
                    harvest.get("domain", ""),
                    harvest.get("remote_id", ""),
                    harvest.get("remote_url", ""),
                    row["metrics"]["followers"],
                    row["metrics"]["views"],
                    row["metrics"]["resources_downloads"],
                ]
            )
        return web.Response(text=out.getvalue(), content_type="text/csv", charset="utf-8")

    async def organizations_csv(request: web.Request) -> web.Response:
        publishers = {p.remote_id: p for spec in world.portals for p in spec.publishers}
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";")
        writer.writerow(("id", "name", "slug", "business_number_id"))
        for publisher in publishers.values():
            writer.writerow((publisher.remote_id, publisher.name, publisher.remote_id, publisher.siret or ""))
        return web.Response(text=out.getvalue(), content_type="text/csv", charset="utf-8")

    async def resources_csv(request: web.Request) -> web.Response:
        """One row per file, its dataset's fields first (udata's `ResourcesCsvAdapter`)."""
        out = io.StringIO()
        writer = csv_writer(out, RESOURCE_CSV_COLUMNS)
        for row in exported(request):
            for n, file in enumerate(row["resources"]):
                schema = file.get("schema") or {}
                writer.writerow(
                    [row["id"], row["title"], row["slug"], row["page"], row["organization"]["name"],
                     row["organization"]["id"], row["license"], "False", "False", f"{row['id']}-{n}", file["url"],
                     file.get("title") or "", "", "remote", "main", file["format"] or "", "", "", "", "",
                     row["created_at"], row["last_modified"], "0", "", "", "", schema.get("name") or "",
                     schema.get("version") or "", "", "{}"]
                )  # fmt: skip
        return web.Response(text=out.getvalue(), content_type="text/csv", charset="utf-8")

    async def reuses_csv(request: web.Request) -> web.Response:
        """One row per reuse (udata's reuse export): `url` is its page on the site, `remote_url` the
        reuse itself, `datasets` its datasets' ids separated by commas."""
        portal = portal_of(request, world)
        base = _base(request, portal)
        out = io.StringIO()
        writer = csv_writer(out, REUSE_CSV_COLUMNS)
        for reuse in reuses(portal):
            r = _reuse(reuse, base)
            writer.writerow(
                [r["id"], r["title"], r["slug"], r["page"], r["type"], r["description"], r["url"],
                 r["organization"]["name"], r["organization"]["id"], "", "", "", "False", r["created_at"],
                 r["last_modified"], "False", "others", "", ",".join(d["id"] for d in r["datasets"]), "0", "0",
                 str(len(r["datasets"])), "0", "0", "0"]
            )  # fmt: skip
        return web.Response(text=out.getvalue(), content_type="text/csv", charset="utf-8")

    prefix = "/{family:udata}/{slug}/api/1/site"
    return [
        web.get(f"{prefix}/reuses.csv", with_quirks(world, reuses_csv)),
        web.get(f"{prefix}/resources.csv", with_quirks(world, resources_csv)),
        web.get(f"{prefix}/datasets.csv", with_quirks(world, datasets_csv)),
        web.get(f"{prefix}/organizations.csv", with_quirks(world, organizations_csv)),
    ]


def _schema(schema: tuple[str, str] | None) -> dict[str, Any]:
    """udata's resource schema: a known schema by its name, an unknown one by its URL alone."""
    if schema is None:
        return {"name": None, "version": None, "url": None}
    if schema[0].startswith("https://"):
        return {"name": None, "version": None, "url": schema[0]}
    return {"name": schema[0], "version": schema[1], "url": None}
