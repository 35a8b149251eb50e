"""Family detection against every simulated family, over HTTP on loopback, and against plain pages."""

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from services.harvester.detection import detect
from services.harvester.fetch import Fetcher, FetchPolicy
from simulated_portals.app import build_app, source_url
from simulated_portals.catalogue import build_world

POLICY = FetchPolicy(allow_private=True, max_attempts=1, backoff_seconds=0.01)
WORLD = build_world(portals=6, datasets_per_portal=5, seed=3, referentiel=None)


def with_pages(app: web.Application, pages: dict[str, str]) -> web.Application:
    for path, html in pages.items():

        async def page(request: web.Request, html: str = html) -> web.Response:
            return web.Response(text=html, content_type="text/html")

        app.router.add_get(path, page)
    return app


async def detected(app: web.Application, path_or_url) -> tuple:
    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        base = str(server.make_url("")).rstrip("/")
        url = path_or_url(base) if callable(path_or_url) else base + path_or_url
        found = await detect(Fetcher(session, POLICY), url)
        return found, base


@pytest.mark.parametrize("spec", [p for p in WORLD.portals if p.slug != "datagouv"], ids=lambda p: p.slug)
async def test_every_simulated_family_is_recognised_with_its_evidence(spec):
    # An operator knows a portal by its address; a DCAT catalogue or a CSW service, by the document's.
    by_document = spec.family in ("dcat", "csw")
    found, base = await detected(
        build_app(WORLD),
        (lambda b: source_url(WORLD, b, spec.family, spec.slug)) if by_document else spec.path,
    )
    assert found.family == spec.family, found.tried
    assert found.evidence and found.url
    if spec.family in ("udata", "ods", "ckan"):
        assert found.url == base + spec.path


async def test_a_page_announcing_its_dcat_catalogue_leads_to_it():
    dcat = next(p for p in WORLD.portals if p.family == "dcat")
    catalogue = source_url(WORLD, "", "dcat", dcat.slug)
    media = {"ttl": "text/turtle", "rdf": "application/rdf+xml", "jsonld": "application/ld+json"}[
        catalogue.rsplit(".")[-1]
    ]
    home = f'<html><head><link rel="alternate" type="{media}" href="{catalogue}"></head><body>Portail</body></html>'
    found, base = await detected(with_pages(build_app(WORLD), {"/portail": home}), "/portail")
    assert (found.family, found.url) == ("dcat", base + catalogue)
    assert "annonce" in found.evidence


async def test_a_plain_page_is_no_portal_and_every_probe_says_why():
    home = "<html><head><title>Mairie</title></head><body>Bienvenue</body></html>"
    found, _ = await detected(with_pages(web.Application(), {"/mairie": home}), "/mairie")
    assert (found.family, found.url) == (None, None)
    assert len(found.tried) >= 6 and any("HTTP 404" in line for line in found.tried)
