"""Wiring of the public API: reads the registry and the indicators (read-only role)."""

import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
import yaml
from aiohttp import web

import shared.asyncapi
from services.api import exports, geodata, operations, repository
from services.api.forwarding import forward
from services.api.repository import SORTS, DatasetFilter, OrganizationFilter
from services.api.totals import ESTIMATED_FROM, Counted, Totals
from shared.auth import optional_principal
from shared.db import create_pool
from shared.http import error
from shared.matching import HINT_FAMILIES, MatcherCache
from shared.population import NO_POPULATION, POPULATION_BINS
from shared.service import Runtime
from shared.settings import Settings
from shared.vocabulary import ORGANIZATION_TYPES, PORTAL_FAMILIES

SERVICE = "api"
OPENAPI = yaml.safe_load((Path(__file__).parent / "openapi.yaml").read_text(encoding="utf-8"))
MAX_PAGE_SIZE = 200
POPULATION_BIN_LABELS = (NO_POPULATION, *(label for label, _ in POPULATION_BINS))


def create_runtime(settings: Settings) -> Runtime:
    # Read-only queries, nothing SET: a connection needs no reset between requests. Each list query is
    # planned for its values: a plan made once for any value of a filter walked the datasets' titles
    # for a rare format and licence (35 ms where their own plan takes 8: bench/README.md).
    runtime = Runtime(
        settings, SERVICE, stateless_sessions=True, pool_size=settings.api_db_pool_max_size,
        session_settings={"plan_cache_mode": "force_custom_plan"},
    )  # fmt: skip

    async def close_http(rt: Runtime) -> None:
        if session := rt.background.get("http"):
            await session.close()

    async def load_geodata(rt: Runtime) -> None:
        geodata.preload(rt.settings.geodata_dir)

    async def open_export_pool(rt: Runtime) -> None:
        timeout = str(int(rt.settings.export_timeout_seconds * 1000))
        rt.background["exports"] = await create_pool(
            rt.settings, SERVICE, max_size=rt.settings.export_connections, stateless_sessions=True,
            server_settings={"statement_timeout": timeout, "idle_in_transaction_session_timeout": timeout},
        )  # fmt: skip

    async def close_export_pool(rt: Runtime) -> None:
        if pool := rt.background.get("exports"):
            await pool.close()

    runtime.on_start += [load_geodata, open_export_pool]
    runtime.on_stop += [close_http, close_export_pool]
    return runtime


class BadRequest(Exception):
    pass


def _int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
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


def paginated(
    request: web.Request,
    data: list[dict[str, Any]] | list[str],
    total: Counted,
    page: int,
    page_size: int,
    total_cached: bool,
    next_after: str | None,
) -> web.Response:
    """A page of a list: its rows (dicts, or JSON texts spliced as they are), the selection's total
    (`total_exact`: counted, or the planner's estimate of a large selection; `total_cached`: kept from
    an earlier count of the same selection at the same version of the data: totals.py), the next page
    by number, and by keyset (`next_after`, to pass as `after`: as fast deep in the list as at its
    start)."""
    if request.query.get("after"):  # pages by keyset have no number
        next_page = str(request.url.update_query(after=next_after)) if next_after else None
    else:
        more = page * page_size < total.value if total.exact else len(data) == page_size
        next_page = str(request.url.update_query(page=page + 1)) if more else None
    rows = ",".join(row if isinstance(row, str) else _json(row) for row in data)
    envelope = _json(
        {"page": None if request.query.get("after") else page, "page_size": page_size, "total": total.value,
         "total_exact": total.exact, "total_cached": total_cached, "next_page": next_page,
         "next_after": next_after}
    )  # fmt: skip
    return json_text('{"data":[' + rows + "]," + envelope[1:])


async def exactly(count: Awaitable[int]) -> Counted:
    return Counted(await count, True)


async def counted(count: Awaitable[tuple[int, bool]]) -> Counted:
    return Counted(*await count)


def after_token(sort: str, keys: list[Any]) -> str:
    """The opaque `after` of the page that follows a row: its sort and its sort keys."""
    return base64.urlsafe_b64encode(json.dumps([sort, keys], separators=(",", ":")).encode()).decode().rstrip("=")


def _after(request: web.Request, sort: str, keys: tuple[repository.SortKey, ...]) -> list[Any] | None:
    """The values of `keys` an `after` token holds, for a page that continues from its row (keyset)."""
    token = request.query.get("after")
    if not token:
        return None
    if sort == "relevance" and request.query.get("q"):
        raise BadRequest("after ne s'emploie pas avec le tri par pertinence : choisir un autre tri (sort)")
    try:
        token_sort, values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, TypeError):
        raise BadRequest("after : jeton illisible (prendre next_after d'une page)") from None
    if token_sort != sort or not isinstance(values, list) or len(values) != len(keys):
        raise BadRequest("after : ce jeton vient d'une page d'un autre tri")
    if not all(key.holds(value) for key, value in zip(keys, values, strict=True)):
        raise BadRequest("after : jeton illisible (prendre next_after d'une page)")
    return values


def _sort(request: web.Request) -> str:
    # A search is ranked by relevance unless another order is asked for.
    sort = request.query.get("sort") or ("relevance" if request.query.get("q") else "name")
    if sort not in SORTS:
        raise BadRequest(f"tri inconnu : {sort} (tris : {', '.join(SORTS)})")
    return sort


DATASET_COLUMNS = ["id", "organization_id", "title", "licence", "formats", "schemas", "themes", "created",
                   "modified", "portals", "sources"]  # fmt: skip


def dataset_row(state: dict[str, Any]) -> dict[str, Any]:
    """A canonical dataset flattened for a spreadsheet."""
    resources = state.get("resources", [])
    live = [s for s in state.get("sources", []) if not s.get("withdrawn_at")]
    return {
        **{k: state.get(k) for k in ("id", "organization_id", "title", "licence", "themes", "created", "modified")},
        "formats": sorted({r["format"] for r in resources if r.get("format")}),
        "schemas": sorted({r["schema"]["name"] for r in resources if r.get("schema")}),
        "portals": sorted({s["portal_url"] for s in live}),
        "sources": len(live),
    }


def organization_feature(row: dict[str, Any], places: dict[str, dict[str, list[float]]]) -> dict[str, Any] | None:
    point = geodata.point_of(row, places)
    if point is None:
        return None
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": point}, "properties": row}


async def _mapped(
    batches: AsyncIterator[list[dict[str, Any]]], function: Callable[[dict[str, Any]], dict[str, Any]]
) -> AsyncIterator[list[dict[str, Any]]]:
    async for batch in batches:
        yield [function(item) for item in batch]


async def _once(rows: list[dict[str, Any]]) -> AsyncIterator[list[dict[str, Any]]]:
    yield rows


@cache
def asyncapi_document() -> str:
    return shared.asyncapi.generate()


def json_text(body: str) -> web.Response:
    """An answer whose JSON was written as text (the map's large bodies)."""
    return web.Response(body=body.encode("utf-8"), content_type="application/json")


async def _map_points(request: web.Request) -> list[asyncpg.Record]:
    """The organisations of the request's filter, with what placing them on the map needs."""
    runtime: Runtime = request.app["runtime"]
    async with runtime.pool.acquire() as conn:
        return await repository.map_points(conn, organization_filter(request))


# orjson writes a page of organisations in a tenth of the standard library's time; dates and other
# values written with str(), as json.dumps(default=str) did.
JSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def _json(body: Any) -> str:
    return orjson.dumps(body, default=str, option=JSON_OPTIONS).decode()


def json_response(body: Any) -> web.Response:
    return json_text(_json(body))


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
        technology=_choice(request, "technology", PORTAL_FAMILIES),
        population_bin=_choice(request, "population_bin", POPULATION_BIN_LABELS),
    )


def _choice(request: web.Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query.get(name) or None
    if value is not None and value not in allowed:
        raise BadRequest(f"{name} inconnu : {value} (valeurs : {', '.join(allowed)})")
    return value


def _text(request: web.Request, name: str, limit: int = 200) -> str | None:
    value = request.query.get(name) or None
    if value is not None and len(value) > limit:
        raise BadRequest(f"{name} : {limit} caractères au plus")
    return value


async def _organization_param(conn: asyncpg.Connection, request: web.Request) -> str | None:
    """The registry id of the `organization` parameter (any id, SIREN or alias), if one is given."""
    organization = request.query.get("organization")
    if not organization:
        return None
    resolved = await repository.resolve_id(conn, organization)
    if resolved is None:
        raise BadRequest(f"organization : aucune organisation avec l'identifiant {organization!r}")
    return resolved


def dataset_filter(request: web.Request, organization: str | None) -> DatasetFilter:
    since = request.query.get("modified_since") or None
    try:
        modified_since = datetime.fromisoformat(since) if since else None
    except ValueError:
        raise BadRequest("modified_since doit être une date ISO 8601 (AAAA-MM-JJ)") from None
    if modified_since is not None and modified_since.tzinfo is None:
        modified_since = modified_since.replace(tzinfo=UTC)
    return DatasetFilter(
        organization=organization,
        format=(_text(request, "format", 40) or "").lower() or None,
        licence=_text(request, "licence", 80),
        schema=_text(request, "schema"),
        q=_text(request, "q"),
        modified_since=modified_since,
        withdrawn=bool(_bool(request, "withdrawn")),
    )


@web.middleware
async def json_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        _refuse_unstorable(request)
        return await handler(request)  # type: ignore[no-any-return]
    except BadRequest as exc:
        return error(400, str(exc))
    except geodata.GeodataMissing as exc:
        return error(503, str(exc))
    except web.HTTPNotFound:
        return error(404, f"aucune ressource à l'adresse {request.path}")
    except web.HTTPMethodNotAllowed as exc:
        return error(405, f"méthode {exc.method} non permise")


def _refuse_unstorable(request: web.Request) -> None:
    """Text PostgreSQL cannot take (NUL, lone surrogates) is refused before any query, rather than
    failing inside one (or inside a download already streaming)."""
    for name, value in [("chemin", request.path), *request.query.items()]:
        if "\x00" in value:
            raise BadRequest(f"{name} : caractère NUL refusé")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise BadRequest(f"{name} : texte UTF-8 invalide") from None


FORWARDED_PREFIXES = ("/api/v1/sources", "/api/v1/harvest/", "/api/v1/contributions")
SCOPES = ("national", "region", "departement", "type", "organization", "platform")


def _scope(request: web.Request) -> tuple[str, str | None]:
    scope = request.query.get("scope", "national")
    if scope not in SCOPES:
        raise BadRequest(f"portée inconnue : {scope} (portées : {', '.join(SCOPES)})")
    scope_id = "FR" if scope == "national" else _text(request, "id", 2000 if scope == "platform" else 64)
    return scope, scope_id


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

    @routes.get("/api/v1/organizations")
    async def organizations(request: web.Request) -> web.Response:
        """A page of the selection: the `page`-th, or the one after a row (`after`: keyset pages, as fast
        at the end of the list as at its start)."""
        runtime: Runtime = request.app["runtime"]
        where, sort = organization_filter(request), _sort(request)
        page, page_size = _page(request)
        after = _after(request, sort, (*SORTS[sort], repository.ID_KEY))
        async with runtime.pool.acquire() as conn:
            data = await repository.list_organizations(conn, where, sort, page_size, page, after)
            total, cached = await totals.total(
                conn, where, lambda: exactly(repository.count_organizations(conn, where))
            )
        keyset = len(data) == page_size and not (sort == "relevance" and where.q)
        last = repository.sort_keys(data[-1], sort) if keyset else None
        return paginated(request, data, total, page, page_size, cached, after_token(sort, last) if last else None)

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

    @routes.get("/api/v1/organizations/stats")
    async def organization_stats(request: web.Request) -> web.Response:
        """The selection counted per type, région, département or population bin (for the charts)."""
        runtime: Runtime = request.app["runtime"]
        by = _choice(request, "by", tuple(repository.GROUPINGS)) or "type"
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
        requested = request.match_info["id"]
        async with runtime.pool.acquire() as conn:
            resolved = await repository.resolve_id(conn, requested)
            card = await repository.organization_card(conn, resolved) if resolved else None
        if card is None:
            return error(404, f"aucune organisation avec l'identifiant {requested!r}")
        return web.json_response(card)

    @routes.get("/api/v1/organizations/{id}/datasets")
    async def organization_datasets(request: web.Request) -> web.Response:
        runtime: Runtime = request.app["runtime"]
        requested = request.match_info["id"]
        async with runtime.pool.acquire() as conn:
            resolved = await repository.resolve_id(conn, requested)
            if resolved is None:
                return error(404, f"aucune organisation avec l'identifiant {requested!r}")
            return await dataset_page(request, conn, dataset_filter(request, organization=resolved))

    @routes.get("/api/v1/datasets")
    async def datasets(request: web.Request) -> web.Response:
        runtime: Runtime = request.app["runtime"]
        async with runtime.pool.acquire() as conn:
            return await dataset_page(request, conn, dataset_filter(request, await _organization_param(conn, request)))

    async def dataset_page(request: web.Request, conn: asyncpg.Connection, where: DatasetFilter) -> web.Response:
        """A page of the datasets by title: the `page`-th, or the one after a row (`after`)."""
        page, page_size = _page(request)
        after = _after(request, "title", repository.DATASET_KEYS)
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
        return await exports.stream(request, "observatoire-platforms", fmt, _once(rows), repository.PLATFORM_COLUMNS)

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
                where, sort = organization_filter(request), _sort(request)
                places = geodata.points(runtime.settings.geodata_dir) if fmt == "geojson" else {}
                return await exports.stream(
                    request, filename, fmt, repository.organization_batches(conn, where, sort),
                    repository.EXPORT_COLUMNS, lambda row: organization_feature(row, places),
                )  # fmt: skip
            if what == "datasets":
                selected = dataset_filter(request, await _organization_param(conn, request))
                batches = repository.dataset_batches(conn, selected)
                if fmt == "csv":
                    batches = _mapped(batches, dataset_row)
                return await exports.stream(request, filename, fmt, batches, DATASET_COLUMNS)
            scope, scope_id = _scope(request)
            rows = await repository.current_indicators(conn, scope, scope_id)
        finally:
            await runtime.background["exports"].release(conn)
        flat = [{"scope": scope, "id": r["id"], "computed_at": r["computed_at"], **r["values"]} for r in rows]
        columns = ["scope", "id", "computed_at", *sorted({k for r in rows for k in r["values"]})]
        return await exports.stream(request, f"{filename}-{scope}", fmt, _once(flat), columns)

    @routes.get("/api/v1/map/organizations.geojson")
    async def map_organizations(request: web.Request) -> web.Response:
        """Every organisation of the filter that has a place, as points with its status."""
        runtime: Runtime = request.app["runtime"]
        heads = geodata.feature_heads(runtime.settings.geodata_dir)
        rows = await _map_points(request)
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
        indicator = _text(request, "indicator", 80) or "opening_rate"
        async with runtime.pool.acquire() as conn:
            values = await repository.indicator_by_area(conn, level.removesuffix("s"), indicator)
        return json_text(geodata.coloured(runtime.settings.geodata_dir, level, values, indicator))

    @routes.get("/api/v1/publishers/unmatched")
    async def unmatched(request: web.Request) -> web.Response:
        runtime: Runtime = request.app["runtime"]
        page, page_size = _page(request)
        async with runtime.pool.acquire() as conn:
            data, total = await repository.unmatched_publishers(conn, page, page_size, _text(request, "q", 200))
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
