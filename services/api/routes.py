"""The public API's routes: lists, cards, indicators, exports, the map, operations, the
documents (OpenAPI, AsyncAPI) and the front end; requests to the harvester and the contributions
service forwarded."""

from pathlib import Path

import aiohttp
import asyncpg
import yaml
from aiohttp import web

from services.api import card_queries, export_queries, exports, geodata, operations, repository, selections
from services.api.answers import (
    asyncapi_document,
    counted,
    dataset_row,
    exactly,
    json_response,
    json_text,
    mapped,
    once,
    organization_feature,
    paginated,
)
from services.api.embeds import add_embed_routes
from services.api.feeds import add_feed_routes
from services.api.forwarding import forward
from services.api.open_data import add_open_data_routes, indicator_columns, schema_url
from services.api.params import (
    BadRequest,
    after_keys,
    after_token,
    choice_param,
    dataset_filter,
    organization_filter,
    organization_of,
    organization_param,
    page_params,
    scope_indicators,
    scope_param,
    sort_param,
    text_param,
)
from services.api.selections import SORTS, DatasetFilter
from services.api.totals import ESTIMATED_FROM, Counted, Totals
from shared.auth import optional_principal
from shared.http import error
from shared.matching import HINT_FAMILIES, MatcherCache
from shared.service import Runtime
from shared.tables import DATASET_COLUMNS, ORGANIZATION_COLUMNS

OPENAPI = yaml.safe_load((Path(__file__).parent / "openapi.yaml").read_text(encoding="utf-8"))


FORWARDED_PREFIXES = ("/api/v1/sources", "/api/v1/harvest/", "/api/v1/contributions")


async def map_points_of(request: web.Request) -> list[asyncpg.Record]:
    """The organisations of the request's filter, with what placing them on the map needs."""
    runtime: Runtime = request.app["runtime"]
    async with runtime.pool.acquire() as conn:
        return await repository.map_points(conn, organization_filter(request))


def create_routes() -> web.RouteTableDef:
    routes = web.RouteTableDef()
    matchers = MatcherCache(refresh_seconds=30.0)
    totals = Totals()

    async def forwarded(request: web.Request) -> web.Response:
        runtime: Runtime = request.app["runtime"]
        if "http" not in runtime.background:  # the session that forwards to the services owning other paths
            runtime.background["http"] = aiohttp.ClientSession()
        return await forward(request, runtime.settings, runtime.background["http"])

    for prefix in FORWARDED_PREFIXES:
        routes.route("*", prefix + "{tail:.*}")(forwarded)
    add_open_data_routes(routes)
    add_embed_routes(routes)
    add_feed_routes(routes)

    @routes.get("/api/v1/organizations")
    async def organizations(request: web.Request) -> web.Response:
        """A page of the selection: the `page`-th, or the one after a row (`after`: keyset pages, as fast
        at the end of the list as at its start)."""
        runtime: Runtime = request.app["runtime"]
        where, sort = organization_filter(request), sort_param(request)
        page, page_size = page_params(request)
        after = after_keys(request, sort, (*SORTS[sort], selections.ID_KEY))
        async with runtime.pool.acquire() as conn:
            data = await repository.list_organizations(conn, where, sort, page_size, page, after)
            total, cached = await totals.total(
                conn, where, lambda: exactly(repository.count_organizations(conn, where))
            )
        keyset = len(data) == page_size and not (sort == "relevance" and where.q)
        last = selections.sort_keys(data[-1], sort) if keyset else None
        return paginated(request, data, total, page, page_size, cached, after_token(sort, last) if last else None)

    @routes.get("/api/v1/indicators")
    async def indicators(request: web.Request) -> web.Response:
        """Latest values of one scope (default: national) or of every id of a scope."""
        scope, scope_id, rows = await scope_indicators(request)
        if scope_id and not rows:
            raise web.HTTPNotFound()
        return web.json_response({"scope": scope, "data": rows})

    @routes.get("/api/v1/indicators/history")
    async def indicators_history(request: web.Request) -> web.Response:
        """A scope's values over time: daily snapshots, or the yearly editions (`kind=edition`)."""
        runtime: Runtime = request.app["runtime"]
        scope, scope_id = scope_param(request)
        kind = request.query.get("kind", "daily")
        if kind not in ("daily", "edition"):
            raise BadRequest("kind vaut daily ou edition")
        names = tuple(n for n in request.query.get("indicator", "").split(",") if n)
        async with runtime.pool.acquire() as conn:
            series = await repository.indicator_history(conn, scope, scope_id or "FR", kind, names)
        return web.json_response({"scope": scope, "scope_id": scope_id or "FR", "kind": kind, "series": series})

    @routes.get("/api/v1/organizations/stats")
    async def organization_stats(request: web.Request) -> web.Response:
        """The selection counted per type, région, département or population bin (for the charts)."""
        runtime: Runtime = request.app["runtime"]
        by = choice_param(request, "by", tuple(repository.GROUPINGS)) or "type"
        async with runtime.pool.acquire() as conn:
            groups = await repository.organization_groups(conn, organization_filter(request), by)
        return json_response({"by": by, "data": groups})

    @routes.get("/api/v1/organizations/match")
    async def match(request: web.Request) -> web.Response:
        runtime: Runtime = request.app["runtime"]
        name = request.query.get("name", "").strip()
        if not name or len(name) > 300:
            raise BadRequest("name est requis (300 caractères au plus)")
        async with runtime.pool.acquire() as conn:
            matcher = await matchers.get(conn)
        portal = request.query.get("portal")
        keys = [f"{portal}#name:{name.casefold()}"] if portal else []
        hint = request.query.get("type") or None
        if hint and hint.upper() not in HINT_FAMILIES:
            raise BadRequest(f"type inconnu ; types : {', '.join(sorted(HINT_FAMILIES))}")
        departement = request.query.get("departement") or None
        siren = request.query.get("siren") or None
        result = matcher.match(name, siren=siren, departement=departement, alias_keys=keys, type_hint=hint)
        return web.json_response(
            {
                "name": name,
                "best": result.best._asdict() if result.best else None,
                "candidates": [c._asdict() for c in result.candidates[:20]],
                "reason": result.reason,
            }
        )

    @routes.get("/api/v1/organizations/{id}")
    async def organization(request: web.Request) -> web.Response:
        runtime: Runtime = request.app["runtime"]
        async with runtime.pool.acquire() as conn:
            card = await card_queries.organization_card(conn, await organization_of(conn, request))
        if card is None:
            return error(404, f"aucune organisation avec l'identifiant {request.match_info['id']!r}")
        return web.json_response(card)

    @routes.get("/api/v1/organizations/{id}/datasets")
    async def organization_datasets(request: web.Request) -> web.Response:
        runtime: Runtime = request.app["runtime"]
        async with runtime.pool.acquire() as conn:
            organization = await organization_of(conn, request)
            return await dataset_page(request, conn, dataset_filter(request, organization=organization))

    @routes.get("/api/v1/datasets")
    async def datasets(request: web.Request) -> web.Response:
        runtime: Runtime = request.app["runtime"]
        async with runtime.pool.acquire() as conn:
            return await dataset_page(request, conn, dataset_filter(request, await organization_param(conn, request)))

    async def dataset_page(request: web.Request, conn: asyncpg.Connection, where: DatasetFilter) -> web.Response:
        """A page of the datasets by title: the `page`-th, or the one after a row (`after`)."""
        page, page_size = page_params(request)
        after = after_keys(request, "title", selections.DATASET_KEYS)
        data, last = await repository.list_datasets(conn, where, page_size, page, after)
        total, cached = await totals.total(
            conn, where, lambda: counted(repository.count_datasets(conn, where, ESTIMATED_FROM))
        )
        next_after = after_token("title", last) if last and len(data) == page_size else None
        return paginated(request, data, total, page, page_size, cached, next_after)

    @routes.get("/api/v1/platforms")
    async def platforms(request: web.Request) -> web.Response:
        """Every platform with its technology, typology, hosted councils and datasets (ODF 8, 9, 11, 13, 19)."""
        runtime: Runtime = request.app["runtime"]
        async with runtime.pool.acquire() as conn:
            data = await repository.platforms(conn)
        # ODF 18: the platforms harvested that declare where the public can ask for data.
        asking = sum(1 for p in data if p["data_requests_url"] and p["status"] == "harvested")
        return json_response({"total": len(data), "with_data_requests": asking, "data": data})

    @routes.get("/api/v1/platforms/{source_id}/organizations")
    async def platform_organizations(request: web.Request) -> web.Response:
        """The organisations whose live datasets a platform (a harvested source) lists."""
        runtime: Runtime = request.app["runtime"]
        async with runtime.pool.acquire() as conn:
            data = await repository.platform_organizations(conn, request.match_info["source_id"])
        if data is None:
            raise web.HTTPNotFound()
        return json_response({"total": len(data), "data": data})

    @routes.get(r"/api/v1/exports/platforms.{fmt:csv|json}")
    async def export_platforms(request: web.Request) -> web.StreamResponse:
        runtime: Runtime = request.app["runtime"]
        async with runtime.pool.acquire() as conn:
            rows = await repository.platforms(conn)
        fmt = request.match_info["fmt"]
        return await exports.stream(request, "observatoire-platforms", fmt, once(rows), repository.PLATFORM_COLUMNS,
                                    schema_url=schema_url(request, "platforms"))  # fmt: skip

    @routes.get(r"/api/v1/exports/{what:organizations|datasets|indicators}.{fmt:csv|json|geojson}")
    async def export(request: web.Request) -> web.StreamResponse:
        """A whole filtered list, streamed (same filters as the lists; `sep=;` for French spreadsheets)."""
        runtime: Runtime = request.app["runtime"]
        what, fmt = request.match_info["what"], request.match_info["fmt"]
        if fmt == "geojson" and what != "organizations":
            raise BadRequest("GeoJSON : seules les organisations ont une position (organizations.geojson)")
        filename = f"observatoire-{what}"
        try:
            conn = await runtime.background["exports"].acquire(timeout=runtime.settings.export_wait_seconds)
        except TimeoutError:
            return web.json_response(
                {"error": {"status": 503, "message": "trop de téléchargements en cours ; réessayer dans un instant"}},
                status=503, headers={"Retry-After": "10"},
            )  # fmt: skip
        try:
            if what == "organizations":
                where, sort = organization_filter(request), sort_param(request)
                places = geodata.points(runtime.settings.geodata_dir) if fmt == "geojson" else {}
                return await exports.stream(
                    request, filename, fmt, export_queries.organization_batches(conn, where, sort),
                    ORGANIZATION_COLUMNS, lambda row: organization_feature(row, places),
                    schema_url=schema_url(request, what),
                )  # fmt: skip
            if what == "datasets":
                selected = dataset_filter(request, await organization_param(conn, request))
                batches = export_queries.dataset_batches(conn, selected)
                if fmt == "csv":
                    batches = mapped(batches, dataset_row)
                return await exports.stream(request, filename, fmt, batches, DATASET_COLUMNS,
                                            schema_url=schema_url(request, what))  # fmt: skip
            scope, scope_id = scope_param(request)
            rows = await repository.current_indicators(conn, scope, scope_id)
        finally:
            await runtime.background["exports"].release(conn)
        flat = [{"scope": scope, "id": r["id"], "computed_at": r["computed_at"], **r["values"]} for r in rows]
        return await exports.stream(request, f"{filename}-{scope}", fmt, once(flat), indicator_columns(rows),
                                    schema_url=schema_url(request, what))  # fmt: skip

    @routes.get("/api/v1/map/organizations.geojson")
    async def map_organizations(request: web.Request) -> web.Response:
        """Every organisation of the filter that has a place, as points with its status."""
        runtime: Runtime = request.app["runtime"]
        heads = geodata.feature_heads(runtime.settings.geodata_dir)
        rows = await map_points_of(request)
        features = [f for f in (geodata.point_feature(r, heads) for r in rows) if f]
        unplaced = len(rows) - len(features)
        return json_text(f'{{"type":"FeatureCollection","features":[{",".join(features)}],"unplaced":{unplaced}}}')

    @routes.get("/api/v1/map/organizations.json")
    async def map_organization_columns(request: web.Request) -> web.Response:
        """The same points as columns, for the front end's map."""
        runtime: Runtime = request.app["runtime"]
        coordinates = geodata.coordinate_texts(runtime.settings.geodata_dir)
        async with runtime.pool.acquire() as conn:
            columns = await repository.map_columns(conn, organization_filter(request))
        return json_text(geodata.point_columns(columns, coordinates))

    @routes.get(r"/api/v1/map/{level:regions|departements}.geojson")
    async def map_areas(request: web.Request) -> web.Response:
        """Régions or départements, each with its value of one indicator (default: the opening rate)."""
        runtime: Runtime = request.app["runtime"]
        level = request.match_info["level"]
        indicator = text_param(request, "indicator", 80) or "opening_rate"
        async with runtime.pool.acquire() as conn:
            values = await repository.indicator_by_area(conn, level.removesuffix("s"), indicator)
        return json_text(geodata.coloured(runtime.settings.geodata_dir, level, values, indicator))

    @routes.get("/api/v1/publishers/unmatched")
    async def unmatched(request: web.Request) -> web.Response:
        runtime: Runtime = request.app["runtime"]
        page, page_size = page_params(request)
        async with runtime.pool.acquire() as conn:
            data, total = await repository.unmatched_publishers(conn, page, page_size, text_param(request, "q", 200))
        return paginated(request, data, Counted(total, True), page, page_size, total_cached=False, next_after=None)

    @routes.get("/api/v1/operations/status")
    async def operations_status(request: web.Request) -> web.Response:
        """Each source's last harvest, every consumer group's lag, the dead letters waiting."""
        runtime: Runtime = request.app["runtime"]
        async with runtime.pool.acquire() as conn:
            operator = await optional_principal(conn, request, "operator") is not None
            return json_response(await operations.status(conn, runtime.settings, operator))

    @routes.get("/api/asyncapi.yaml")
    async def asyncapi(request: web.Request) -> web.Response:
        """The events other systems may subscribe to (docs/events.md), generated from the services' code."""
        return web.Response(text=asyncapi_document(), content_type="application/yaml")

    @routes.get("/api/openapi.json")
    async def openapi(request: web.Request) -> web.Response:
        return json_response(OPENAPI)

    @routes.get(r"/{path:(?!api/|metrics$|healthz$|readyz$).*}")
    async def front_end(request: web.Request) -> web.StreamResponse:
        """The built front end; any other path is one of its pages (index.html routes it)."""
        runtime: Runtime = request.app["runtime"]
        root = runtime.settings.frontend_dir.resolve()
        if not (root / "index.html").exists():
            return error(503, "interface web non construite : lancer `make setup` (npm run build dans frontend/)")
        wanted = (root / request.match_info["path"]).resolve()
        if wanted.is_file() and wanted.is_relative_to(root):
            cache = "public, max-age=31536000, immutable" if wanted.parent.name == "assets" else "no-cache"
            return web.FileResponse(wanted, headers={"Cache-Control": cache})
        return web.FileResponse(root / "index.html", headers={"Cache-Control": "no-cache"})

    return routes
