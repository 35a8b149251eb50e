"""One aiohttp application serving every simulated portal on its own path, `/<family>/<slug>/...`."""

from aiohttp import web

from simulated_portals import arcgis, ckan, dcat, ods, udata
from simulated_portals.catalogue import World


def build_app(world: World) -> web.Application:
    app = web.Application()
    for family in (udata, ods, ckan, dcat, arcgis):
        app.add_routes(family.routes(world))
    return app


def source_url(world: World, base_url: str, family: str, slug: str) -> str:
    """The URL an operator registers as the harvest source of a simulated portal."""
    portal = world.portal(family, slug)
    assert portal is not None, f"no portal {family}/{slug}"
    suffix = {
        "dcat": f"/catalog.{ {'turtle': 'ttl', 'xml': 'rdf', 'json-ld': 'jsonld'}[portal.dcat_format] }",
        "arcgis": arcgis.FEED,
    }.get(family, "")
    return f"{base_url}{portal.path}{suffix}"
