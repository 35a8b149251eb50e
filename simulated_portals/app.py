"""One aiohttp application serving every simulated portal family on its own path prefix."""

from aiohttp import web

from simulated_portals import udata
from simulated_portals.catalogue import Catalogue


def build_app(catalogue: Catalogue) -> web.Application:
    app = web.Application()
    app.add_routes(udata.routes(catalogue))
    return app
