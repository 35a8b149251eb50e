"""Wiring of the public API: reads the registry and the indicators (read-only role)."""

from typing import Any

import aiohttp
from aiohttp import web

from services.api import repository
from services.api.forwarding import forward
from services.api.repository import SORTS, OrganizationFilter
from shared.matching import MatcherCache
from shared.service import Runtime
from shared.settings import Settings

SERVICE = "api"
MAX_PAGE_SIZE = 200
ORGANIZATION_TYPES = ("COM", "CC", "CA", "CU", "MET", "EPT", "DEP", "REG", "COLOM", "AGCT", "OACT", "DSPT")


def create_runtime(settings: Settings) -> Runtime:
    runtime = Runtime(settings, SERVICE)

    async def close_http(rt: Runtime) -> None:
        if session := rt.background.get("http"):
            await session.close()

    runtime.on_stop.append(close_http)
    return runtime


class BadRequest(Exception):
    pass


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": {"status": status, "message": message}}, status=status)


def _int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadRequest(f"{name} doit être un entier entre {low} et {high}")
    return int(raw)


def _bool(request: web.Request, name: str) -> bool | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() not in ("true", "false", "1", "0"):
        raise BadRequest(f"{name} doit valoir true ou false")
    return raw.lower() in ("true", "1")


def _page(request: web.Request) -> tuple[int, int]:
    return _int(request, "page", 1, 1, 1_000_000), _int(request, "page_size", 50, 1, MAX_PAGE_SIZE)


def paginated(request: web.Request, data: list[dict[str, Any]], total: int, page: int, page_size: int) -> web.Response:
    has_next = page * page_size < total
    next_page = str(request.url.update_query(page=page + 1)) if has_next else None
    return web.json_response(
        {"data": data, "page": page, "page_size": page_size, "total": total, "next_page": next_page}
    )


def organization_filter(request: web.Request) -> OrganizationFilter:
    types = tuple(t for t in request.query.get("type", "").upper().split(",") if t)
    unknown = [t for t in types if t not in ORGANIZATION_TYPES]
    if unknown:
        raise BadRequest(f"type inconnu : {', '.join(unknown)} (types : {', '.join(ORGANIZATION_TYPES)})")
    return OrganizationFilter(
        q=request.query.get("q") or None,
        types=types,
        region=request.query.get("region") or None,
        departement=request.query.get("departement") or None,
        obligated=_bool(request, "obligated"),
        publishes=_bool(request, "publishes"),
    )


@web.middleware
async def json_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)  # type: ignore[no-any-return]
    except BadRequest as exc:
        return error(400, str(exc))
    except web.HTTPNotFound:
        return error(404, f"aucune ressource à l'adresse {request.path}")
    except web.HTTPMethodNotAllowed as exc:
        return error(405, f"méthode {exc.method} non permise")


SCOPES = ("national", "region", "departement", "type", "organization")


def _scope(request: web.Request) -> tuple[str, str | None]:
    scope = request.query.get("scope", "national")
    if scope not in SCOPES:
        raise BadRequest(f"portée inconnue : {scope} (portées : {', '.join(SCOPES)})")
    scope_id = request.query.get("id") or None
    if scope == "national":
        scope_id = "FR"
    if scope_id is not None and len(scope_id) > 64:
        raise BadRequest("id : 64 caractères au plus")
    return scope, scope_id


def create_routes() -> web.RouteTableDef:
    routes = web.RouteTableDef()
    matchers = MatcherCache(refresh_seconds=30.0)

    async def forwarded(request: web.Request) -> web.Response:
        runtime: Runtime = request.app["runtime"]
        if "http" not in runtime.background:  # the session that forwards to the services owning other paths
            runtime.background["http"] = aiohttp.ClientSession()
        return await forward(request, runtime.settings, runtime.background["http"])

    for prefix in ("/api/v1/sources", "/api/v1/harvest/", "/api/v1/contributions"):
        routes.route("*", prefix + "{tail:.*}")(forwarded)

    @routes.get("/api/v1/organizations")
    async def organizations(request: web.Request) -> web.Response:
        runtime: Runtime = request.app["runtime"]
        where = organization_filter(request)
        sort = request.query.get("sort", "name")
        if sort not in SORTS:
            raise BadRequest(f"tri inconnu : {sort} (tris : {', '.join(SORTS)})")
        page, page_size = _page(request)
        async with runtime.pool.acquire() as conn:
            data, total = await repository.list_organizations(conn, where, sort, page, page_size)
        return paginated(request, data, total, page, page_size)

    @routes.get("/api/v1/indicators")
    async def indicators(request: web.Request) -> web.Response:
        """Latest values of one scope (default: national) or of every id of a scope."""
        runtime: Runtime = request.app["runtime"]
        scope, scope_id = _scope(request)
        async with runtime.pool.acquire() as conn:
            rows = await repository.current_indicators(conn, scope, scope_id)
        if scope_id and not rows:
            raise web.HTTPNotFound()
        return web.json_response({"scope": scope, "data": rows})

    @routes.get("/api/v1/indicators/history")
    async def indicators_history(request: web.Request) -> web.Response:
        """A scope's values over time: daily snapshots, or the yearly editions (`kind=edition`)."""
        runtime: Runtime = request.app["runtime"]
        scope, scope_id = _scope(request)
        kind = request.query.get("kind", "daily")
        if kind not in ("daily", "edition"):
            raise BadRequest("kind vaut daily ou edition")
        names = tuple(n for n in request.query.get("indicator", "").split(",") if n)
        async with runtime.pool.acquire() as conn:
            series = await repository.indicator_history(conn, scope, scope_id or "FR", kind, names)
        return web.json_response({"scope": scope, "scope_id": scope_id or "FR", "kind": kind, "series": series})

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
        result = matcher.match(name, departement=request.query.get("departement") or None, alias_keys=keys)
        return web.json_response(
            {
                "name": name,
                "best": result.best.__dict__ if result.best else None,
                "candidates": [c.__dict__ for c in result.candidates[:20]],
                "reason": result.reason,
            }
        )

    @routes.get("/api/v1/organizations/{id}")
    async def organization(request: web.Request) -> web.Response:
        runtime: Runtime = request.app["runtime"]
        requested = request.match_info["id"]
        async with runtime.pool.acquire() as conn:
            resolved = await repository.resolve_id(conn, requested)
            card = await repository.organization_card(conn, resolved) if resolved else None
        if card is None:
            return error(404, f"aucune organisation avec l'identifiant {requested!r}")
        return web.json_response(card)

    @routes.get("/api/v1/publishers/unmatched")
    async def unmatched(request: web.Request) -> web.Response:
        runtime: Runtime = request.app["runtime"]
        page, page_size = _page(request)
        async with runtime.pool.acquire() as conn:
            data, total = await repository.unmatched_publishers(conn, page, page_size)
        return paginated(request, data, total, page, page_size)

    return routes
