"""DCAT catalogues in Turtle (`catalog.ttl`), RDF/XML (`catalog.rdf`) and JSON-LD (`catalog.jsonld`),
paged with Hydra: the current `hydra:PartialCollectionView` + `hydra:next`, or the legacy
`hydra:PagedCollection` + `hydra:nextPage`, with next links as IRIs or as literals.

Written by hand rather than with an RDF library: serving 200,000 datasets must stay cheap, and the
documents then look like what real portals produce.
"""

import json
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from aiohttp import web

from simulated_portals.catalogue import PortalSpec, SimDataset, World, dataset, schema_url
from simulated_portals.quirks import portal_of, with_quirks

DCAT, DCT, HYDRA, FOAF = (
    "http://www.w3.org/ns/dcat#",
    "http://purl.org/dc/terms/",
    "http://www.w3.org/ns/hydra/core#",
    "http://xmlns.com/foaf/0.1/",
)
XSD_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"
MEDIA_TYPES = {"ttl": "text/turtle", "rdf": "application/rdf+xml", "jsonld": "application/ld+json"}
LICENCE_URIS = {
    "fr-lo": "https://www.etalab.gouv.fr/licence-ouverte-open-licence",
    "lov2": "https://www.etalab.gouv.fr/licence-ouverte-open-licence",
    "odc-odbl": "https://opendatacommons.org/licenses/odbl/1-0/",
}


def routes(world: World) -> list[web.RouteDef]:
    async def catalog(request: web.Request) -> web.Response:
        portal = portal_of(request, world)
        extension = request.match_info["ext"]
        page = int(request.query.get("page", "1")) if request.query.get("page", "1").isdigit() else 1
        pages = max(1, -(-portal.size // portal.page_size))
        if page > pages and not portal.quirks.repeat_forever:
            return web.Response(status=404, text="page not found")
        first = 0 if portal.quirks.repeat_forever else (page - 1) * portal.page_size
        items = [dataset(portal, i) for i in range(first, min(first + portal.page_size, portal.size))]
        url = f"{request.url.origin()}{portal.path}/catalog.{extension}"
        next_url = f"{url}?page={page + 1}" if page < pages or portal.quirks.repeat_forever else None
        paging = _paging(portal, url, page, pages, next_url)
        base = f"{request.url.origin()}{portal.path}"
        body = {"ttl": _turtle, "rdf": _rdf_xml, "jsonld": _json_ld}[extension](url, items, paging, base)
        return web.Response(text=body, content_type=MEDIA_TYPES[extension], charset="utf-8")

    return [web.get(r"/{family:dcat}/{slug}/catalog.{ext:ttl|rdf|jsonld}", with_quirks(world, catalog))]


def _paging(portal: PortalSpec, url: str, page: int, pages: int, next_url: str | None) -> dict[str, Any]:
    legacy = portal.quirks.hydra == "paged"
    return {
        "view": f"{url}?page={page}",
        "class": "PagedCollection" if legacy else "PartialCollectionView",
        "next_term": "nextPage" if legacy else "next",
        "first_term": "firstPage" if legacy else "first",
        "last_term": "lastPage" if legacy else "last",
        "next": next_url,
        "first": f"{url}?page=1",
        "last": f"{url}?page={pages}",
        "literal": portal.quirks.hydra_literal,
        "total": portal.size,
    }


def _resource_statements(d: SimDataset) -> list[dict[str, str | None]]:
    return [
        {
            "format": fmt or None,
            "url": url,
            "schema": schema_url(schema) if schema else None,
        }
        for url, fmt, schema in d.resources
    ]


def _identifier(d: SimDataset) -> str:
    return d.id


# --- Turtle ---------------------------------------------------------------------------------------


def _lit(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "") + '"'


def _turtle(url: str, items: list[SimDataset], paging: dict[str, Any], base: str) -> str:
    out = [
        "@prefix dcat: <http://www.w3.org/ns/dcat#> .",
        "@prefix dct: <http://purl.org/dc/terms/> .",
        "@prefix hydra: <http://www.w3.org/ns/hydra/core#> .",
        "@prefix foaf: <http://xmlns.com/foaf/0.1/> .",
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .",
        "",
    ]
    datasets = " , ".join(f"<{_identifier(d)}>" for d in items)
    out.append(
        f"<{url}> a dcat:Catalog, hydra:Collection ; hydra:totalItems {paging['total']} ;"
        f" hydra:view <{paging['view']}>" + (f" ;\n    dcat:dataset {datasets}" if items else "") + " ."
    )

    def link(target: str) -> str:
        return _lit(target) if paging["literal"] else f"<{target}>"

    view = [
        f"<{paging['view']}> a hydra:{paging['class']}",
        f"hydra:{paging['first_term']} {link(paging['first'])}",
        f"hydra:{paging['last_term']} {link(paging['last'])}",
    ]
    if paging["next"]:
        view.append(f"hydra:{paging['next_term']} {link(paging['next'])}")
    out.append(" ;\n    ".join(view) + " .")
    for d in items:
        lines = [
            f"<{_identifier(d)}> a dcat:Dataset",
            f"dct:identifier {_lit(_identifier(d))}",
            f"dct:title {_lit(d.title)}",
            f"dct:description {_lit(d.description)}",
            f'dct:issued "{d.created.isoformat()}"^^xsd:dateTime',
            f'dct:modified "{d.modified.isoformat()}"^^xsd:dateTime',
            f"dct:publisher [ a foaf:Organization ; foaf:name {_lit(d.publisher.name)} ]",
            f"dcat:landingPage <{d.landing_page(base)}>",
        ]
        if d.licence:
            lines.append(
                f"dct:license <{LICENCE_URIS[d.licence]}>"
                if d.licence in LICENCE_URIS
                else f"dct:license {_lit(d.licence)}"
            )
        lines += [f"dcat:keyword {_lit(t)}" for t in d.tags] + [f"dcat:theme {_lit(t)}" for t in d.themes]
        for r in _resource_statements(d):
            parts = ["a dcat:Distribution", f"dcat:downloadURL <{r['url']}>"]
            if r["format"]:
                parts.append(f"dct:format {_lit(r['format'])}")
            if r["schema"]:
                parts.append(f"dct:conformsTo <{r['schema']}>")
            lines.append("dcat:distribution [ " + " ; ".join(parts) + " ]")
        out.append(" ;\n    ".join(lines) + " .")
    return "\n".join(out) + "\n"


# --- RDF/XML --------------------------------------------------------------------------------------


def _x(text: str) -> str:
    return xml_escape(text, {'"': "&quot;"})


def _rdf_xml(url: str, items: list[SimDataset], paging: dict[str, Any], base: str) -> str:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dcat="{DCAT}" '
        f'xmlns:dct="{DCT}" xmlns:hydra="{HYDRA}" xmlns:foaf="{FOAF}">',
        f'  <dcat:Catalog rdf:about="{_x(url)}">',
        '    <rdf:type rdf:resource="http://www.w3.org/ns/hydra/core#Collection"/>',
        f'    <hydra:totalItems rdf:datatype="http://www.w3.org/2001/XMLSchema#integer">{paging["total"]}</hydra:totalItems>',
        f'    <hydra:view rdf:resource="{_x(paging["view"])}"/>',
    ]
    out += [f'    <dcat:dataset rdf:resource="{_x(_identifier(d))}"/>' for d in items]
    out.append("  </dcat:Catalog>")

    def link(term: str, target: str) -> str:
        if paging["literal"]:
            return f"    <hydra:{term}>{_x(target)}</hydra:{term}>"
        return f'    <hydra:{term} rdf:resource="{_x(target)}"/>'

    out.append(f'  <hydra:{paging["class"]} rdf:about="{_x(paging["view"])}">')
    out += [link(paging["first_term"], paging["first"]), link(paging["last_term"], paging["last"])]
    if paging["next"]:
        out.append(link(paging["next_term"], paging["next"]))
    out.append(f"  </hydra:{paging['class']}>")
    for d in items:
        out += [
            f'  <dcat:Dataset rdf:about="{_x(_identifier(d))}">',
            f"    <dct:identifier>{_x(_identifier(d))}</dct:identifier>",
            f"    <dct:title>{_x(d.title)}</dct:title>",
            f"    <dct:description>{_x(d.description)}</dct:description>",
            f'    <dct:issued rdf:datatype="{XSD_DATETIME}">{d.created.isoformat()}</dct:issued>',
            f'    <dct:modified rdf:datatype="{XSD_DATETIME}">{d.modified.isoformat()}</dct:modified>',
            f"    <dct:publisher><foaf:Organization><foaf:name>{_x(d.publisher.name)}</foaf:name>"
            "</foaf:Organization></dct:publisher>",
            f'    <dcat:landingPage rdf:resource="{_x(d.landing_page(base))}"/>',
        ]
        if d.licence in LICENCE_URIS:
            out.append(f'    <dct:license rdf:resource="{LICENCE_URIS[d.licence]}"/>')
        elif d.licence:
            out.append(f"    <dct:license>{_x(d.licence)}</dct:license>")
        out += [f"    <dcat:keyword>{_x(t)}</dcat:keyword>" for t in d.tags]
        out += [f"    <dcat:theme>{_x(t)}</dcat:theme>" for t in d.themes]
        for r in _resource_statements(d):
            out.append("    <dcat:distribution><dcat:Distribution>")
            out.append(f'      <dcat:downloadURL rdf:resource="{_x(str(r["url"]))}"/>')
            if r["format"]:
                out.append(f"      <dct:format>{_x(str(r['format']))}</dct:format>")
            if r["schema"]:
                out.append(f'      <dct:conformsTo rdf:resource="{_x(str(r["schema"]))}"/>')
            out.append("    </dcat:Distribution></dcat:distribution>")
        out.append("  </dcat:Dataset>")
    out.append("</rdf:RDF>")
    return "\n".join(out) + "\n"


# --- JSON-LD (expanded form, as udata's fixtures) -------------------------------------------------


def _json_ld(url: str, items: list[SimDataset], paging: dict[str, Any], base: str) -> str:
    def value(text: str) -> list[dict[str, str]]:
        return [{"@value": text}]

    def link(target: str) -> list[dict[str, str]]:
        return [{"@value": target}] if paging["literal"] else [{"@id": target}]

    graph: list[dict[str, Any]] = [
        {
            "@id": url,
            "@type": [f"{DCAT}Catalog", f"{HYDRA}Collection"],
            f"{HYDRA}totalItems": [{"@value": paging["total"]}],
            f"{HYDRA}view": [{"@id": paging["view"]}],
            f"{DCAT}dataset": [{"@id": _identifier(d)} for d in items],
        },
    ]
    view: dict[str, Any] = {
        "@id": paging["view"],
        "@type": [f"{HYDRA}{paging['class']}"],
        f"{HYDRA}{paging['first_term']}": link(paging["first"]),
        f"{HYDRA}{paging['last_term']}": link(paging["last"]),
    }
    if paging["next"]:
        view[f"{HYDRA}{paging['next_term']}"] = link(paging["next"])
    graph.append(view)
    for d in items:
        node: dict[str, Any] = {
            "@id": _identifier(d),
            "@type": [f"{DCAT}Dataset"],
            f"{DCT}identifier": value(_identifier(d)),
            f"{DCT}title": value(d.title),
            f"{DCT}description": value(d.description),
            f"{DCT}issued": [{"@value": d.created.isoformat(), "@type": XSD_DATETIME}],
            f"{DCT}modified": [{"@value": d.modified.isoformat(), "@type": XSD_DATETIME}],
            f"{DCT}publisher": [{"@type": [f"{FOAF}Organization"], f"{FOAF}name": value(d.publisher.name)}],
            f"{DCAT}landingPage": [{"@id": d.landing_page(base)}],
            f"{DCAT}keyword": [{"@value": t} for t in d.tags],
            f"{DCAT}theme": [{"@value": t} for t in d.themes],
            f"{DCAT}distribution": [
                {
                    "@type": [f"{DCAT}Distribution"],
                    f"{DCAT}downloadURL": [{"@id": r["url"]}],
                    **({f"{DCT}format": value(str(r["format"]))} if r["format"] else {}),
                    **({f"{DCT}conformsTo": [{"@id": r["schema"]}]} if r["schema"] else {}),
                }
                for r in _resource_statements(d)
            ],
        }
        if d.licence:
            node[f"{DCT}license"] = (
                [{"@id": LICENCE_URIS[d.licence]}] if d.licence in LICENCE_URIS else value(d.licence)
            )
        graph.append(node)
    return json.dumps(graph, ensure_ascii=False)
