"""The Observatoire's own data as open data: the Table Schema of each CSV export and the data package
that lists them (shared/tables.py), and its DCAT-AP catalogue (catalog.py)."""

import base64
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from yarl import URL

from services.api import catalog, repository
from services.api.answers import json_response
from services.api.params import NotFound, scope_indicators
from shared import tables
from shared.editions import CHECKSUMS, checksums, published_years
from shared.service import Runtime

SCHEMA_CONTENT_TYPE = "application/schema+json"
EDITION_TYPES = {"csv": "text/csv", "json": "application/json"}


def public_base(request: web.Request) -> str:
    """Where the public reaches the Observatoire: OBS_PUBLIC_URL, else the address this request came to."""
    runtime: Runtime = request.app["runtime"]
    configured = runtime.settings.public_url
    return configured.rstrip("/") if configured else f"{request.scheme}://{request.host}"


def schema_url(request: web.Request, what: str) -> str:
    """The address of the Table Schema of the export `what` (organizations, datasets, platforms,
    indicators with the request's scope)."""
    address = f"{public_base(request)}/api/v1/exports/{what}.schema.json"
    if what == "indicators":
        kept = {k: v for k, v in request.query.items() if k in ("scope", "id")}
        return str(URL(address).with_query(kept))
    return address


def indicator_columns(rows: list[dict[str, Any]]) -> list[str]:
    """The columns of an indicators export: its head, then every indicator computed for its rows."""
    return ["scope", "id", "computed_at", *sorted({k for r in rows for k in r["values"]})]


def add_open_data_routes(routes: web.RouteTableDef) -> None:
    @routes.get(r"/api/v1/exports/{what:organizations|datasets|platforms}.schema.json")
    async def export_schema(request: web.Request) -> web.Response:
        """The Table Schema of an export's CSV."""
        schema = {
            "organizations": tables.organizations_schema,
            "datasets": tables.datasets_schema,
            "platforms": tables.platforms_schema,
        }[request.match_info["what"]]()
        response = json_response(schema)
        response.content_type = SCHEMA_CONTENT_TYPE
        return response

    @routes.get("/api/v1/exports/indicators.schema.json")
    async def indicators_schema(request: web.Request) -> web.Response:
        """The Table Schema of the indicators' CSV of a scope: a column for each indicator computed there."""
        _, _, rows = await scope_indicators(request)
        response = json_response(tables.indicators_schema(indicator_columns(rows)))
        response.content_type = SCHEMA_CONTENT_TYPE
        return response

    @routes.get("/api/v1/exports/datapackage.json")
    async def datapackage(request: web.Request) -> web.Response:
        """The exports as one Frictionless data package."""
        return json_response(tables.datapackage(public_base(request)))

    @routes.get(r"/api/v1/catalog{ext:(\.ttl|\.rdf|\.jsonld)?}")
    async def dcat_catalog(request: web.Request) -> web.Response:
        """The catalogue in Turtle, RDF/XML or JSON-LD: by its extension, else by the Accept header."""
        runtime: Runtime = request.app["runtime"]
        extension = request.match_info["ext"].lstrip(".") or catalog.negotiated(request.headers.get("Accept", ""))
        async with runtime.pool.acquire() as conn:
            facts = await repository.catalog_facts(conn)
        now = datetime.now(UTC)
        described = catalog.CatalogFacts(
            modified=facts["modified"] or now,
            first_day=facts["first_day"] or now.date(),
            editions=tuple(published_years(runtime.settings.editions_dir)),
        )
        body = catalog.serialised(catalog.catalog_triples(public_base(request), described), extension)
        headers = {"Vary": "Accept"} if not request.match_info["ext"] else {}
        return web.Response(body=body, content_type=catalog.FORMATS[extension][1], charset="utf-8", headers=headers)

    @routes.get("/api/v1/editions")
    async def editions(request: web.Request) -> web.Response:
        """The published yearly editions, each file with its address and SHA-256."""
        runtime: Runtime = request.app["runtime"]
        directory, base = runtime.settings.editions_dir, public_base(request)
        return json_response({"data": [
            {"year": year, "datapackage": f"{base}/api/v1/editions/{year}/datapackage.json",
             "files": [{"name": name, "url": f"{base}/api/v1/editions/{year}/{name}", "sha256": digest}
                       for name, digest in sorted(checksums(directory, year).items())]}
            for year in published_years(directory)
        ]})  # fmt: skip

    @routes.get(r"/api/v1/editions/{year:\d{4}}/{name}")
    async def edition_file(request: web.Request) -> web.StreamResponse:
        """A file of a published edition: it never changes (immutable; its SHA-256 in Repr-Digest)."""
        runtime: Runtime = request.app["runtime"]
        directory, year, name = (
            runtime.settings.editions_dir,
            int(request.match_info["year"]),
            request.match_info["name"],
        )
        digests = checksums(directory, year)
        if name != CHECKSUMS and name not in digests:
            raise NotFound(f"aucun fichier {name!r} dans l'édition {year}")
        headers = {"Cache-Control": "public, max-age=31536000, immutable"}
        if name in digests:  # RFC 9530 (aiohttp's ETag stays: the file's time and size, which never change)
            headers["Repr-Digest"] = f"sha-256=:{base64.b64encode(bytes.fromhex(digests[name])).decode()}:"
        if name.endswith(".csv") and name.replace(".csv", ".schema.json") in digests:
            schema = f"{public_base(request)}/api/v1/editions/{year}/{name.replace('.csv', '.schema.json')}"
            headers["Link"] = f'<{schema}>; rel="describedby"; type="application/schema+json"'
        response = web.FileResponse(directory / str(year) / name, headers=headers)
        response.content_type = EDITION_TYPES.get(name.rsplit(".", 1)[-1], "text/plain")
        return response
