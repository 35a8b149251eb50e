"""ArcGIS Hub DCAT-US 1.1 feed: `/api/feed/dcat-us/1.1.json`, one document (or paged with `?page=N`
and 404 after the last page, as some data.json producers do); `/data.json` answers 301 to the feed.
Licences and descriptions are HTML; identifiers are `item.html?id=...&sublayer=N` URLs."""

from typing import Any

from aiohttp import web

from simulated_portals.catalogue import SimDataset, World, dataset, schema_url
from simulated_portals.quirks import portal_of, with_quirks

FEED = "/api/feed/dcat-us/1.1.json"


def routes(world: World) -> list[web.RouteDef]:
    async def feed(request: web.Request) -> web.Response:
        portal = portal_of(request, world)
        indices = range(portal.size)
        if portal.paged:
            page = int(request.query.get("page", "1")) if request.query.get("page", "1").isdigit() else 1
            start = (page - 1) * portal.page_size
            if start >= portal.size and page > 1:
                return web.Response(status=404, text="Not Found")
            indices = range(start, min(start + portal.page_size, portal.size))
        return web.json_response(
            {
                "@context": "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld",
                "@type": "dcat:Catalog",
                "conformsTo": "https://project-open-data.cio.gov/v1.1/schema",
                "describedBy": "https://project-open-data.cio.gov/v1.1/schema/catalog.json",
                "dataset": [_dataset(dataset(portal, i), f"{request.url.origin()}{portal.path}") for i in indices],
            }
        )

    async def legacy(request: web.Request) -> web.Response:
        portal = portal_of(request, world)
        raise web.HTTPMovedPermanently(f"{portal.path}{FEED}")

    return [
        web.get("/{family:arcgis}/{slug}" + FEED, with_quirks(world, feed)),
        web.get("/{family:arcgis}/{slug}/data.json", legacy),
    ]


def _dataset(d: SimDataset, base: str) -> dict[str, Any]:
    licence = (
        (
            f"<DIV STYLE='text-align:Left;'><P><SPAN>Soumis à la licence {d.licence} : "
            "https://www.etalab.gouv.fr/licence-ouverte-open-licence</SPAN></P></DIV>"
        )
        if d.licence
        else ""
    )
    return {
        "@type": "dcat:Dataset",
        "identifier": d.id,
        "landingPage": d.landing_page(base),
        "title": d.title,
        "description": d.description,
        "keyword": list(d.tags),
        "theme": list(d.themes),
        "issued": d.created.isoformat().replace("+00:00", ".000Z"),
        "modified": d.modified.isoformat().replace("+00:00", ".000Z"),
        "publisher": {"name": d.publisher.name},
        "contactPoint": {"@type": "vcard:Contact", "fn": d.publisher.name},
        "accessLevel": "public",
        "spatial": "6.5735,46.3912,6.6069,46.4028",
        "license": licence,
        "distribution": [
            {
                "@type": "dcat:Distribution",
                "title": (fmt or "Fichier").upper(),
                "format": fmt,
                "mediaType": "",
                "accessURL": url,
                **({"conformsTo": schema_url(schema)} if schema else {}),
            }
            for url, fmt, schema in d.resources
        ],
    }
