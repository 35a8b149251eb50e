"""One aiohttp application serving every simulated portal on its own path, `/<family>/<slug>/...`."""

from typing import Any

from aiohttp import web

from simulated_portals import arcgis, ckan, csw, dcat, ods, udata
from simulated_portals.catalogue import World


def build_app(world: World, cache_responses: bool = False) -> web.Application:
    """`cache_responses` keeps every successful answer in memory and serves it again as it is: a
    benchmark can then measure the harvester, not the generation of the portals' pages."""
    app = web.Application(middlewares=[_response_cache({})] if cache_responses else [])
    for family in (udata, ods, ckan, dcat, arcgis, csw):
        app.add_routes(family.routes(world))
    app.add_routes(udata.csv_routes(world))
    return app


def source_url(world: World, base_url: str, family: str, slug: str) -> str:
    """The URL an operator registers as the harvest source of a simulated portal."""
    portal = world.portal(family, slug)
    assert portal is not None, f"no portal {family}/{slug}"
    suffix = {
        "dcat": f"/catalog.{ {'turtle': 'ttl', 'xml': 'rdf', 'json-ld': 'jsonld'}[portal.dcat_format] }",
        "arcgis": arcgis.FEED,
        "csw": csw.ENDPOINT,
    }.get(family, "")
    return f"{base_url}{portal.path}{suffix}"


def _response_cache(cache: dict[str, tuple[bytes, str]]) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        key = str(request.rel_url)
        if key in cache:
            body, content_type = cache[key]
            return web.Response(body=body, content_type=content_type)
        response: web.StreamResponse = await handler(request)
        if isinstance(response, web.Response) and response.status == 200 and response.body is not None:
            cache[key] = (bytes(response.body), response.content_type)  # type: ignore[arg-type]
        return response

    return middleware
