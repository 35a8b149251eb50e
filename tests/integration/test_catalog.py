"""The Observatoire's DCAT-AP catalogue: served in Turtle, RDF/XML and JSON-LD (by extension and by
the Accept header), each conforming to the DCAT-AP 2.1.1 SHACL shapes (tests/data/dcat-ap), and
harvested by the project's own DCAT family: the observatory reads itself."""

import json
from pathlib import Path

import aiohttp
import pyshacl
import pytest
import rdflib

from services.api.catalog import observatory_datasets
from services.harvester.repository import Source, add_source
from tests.support.db import connect_as
from tests.support.events import request_runs
from tests.support.kafka import wait_for

pytestmark = pytest.mark.integration

SHAPES = Path(__file__).resolve().parents[1] / "data" / "dcat-ap"
FORMATS = {"ttl": ("text/turtle", "turtle"), "rdf": ("application/rdf+xml", "xml"),
           "jsonld": ("application/ld+json", "json-ld")}  # fmt: skip


def dcat_ap_shapes() -> rdflib.Graph:
    shapes = rdflib.Graph()
    for name in ("dcat-ap_2.1.1_shacl_shapes.ttl", "dcat-ap_2.1.1_shacl_range.ttl"):
        shapes.parse(SHAPES / name)
    return shapes


async def fetched(http: aiohttp.ClientSession, url: str, **kwargs) -> tuple[str, dict[str, str]]:
    async with http.get(url, **kwargs) as response:
        assert response.status == 200, await response.text()
        return await response.text(), dict(response.headers)


async def test_the_catalogue_conforms_to_dcat_ap_in_every_serialisation(referentiel, services):
    api, shapes = services["api"].url, dcat_ap_shapes()
    async with aiohttp.ClientSession() as http:
        for extension, (media_type, parser) in FORMATS.items():
            by_extension, headers = await fetched(http, f"{api}/api/v1/catalog.{extension}")
            assert headers["Content-Type"].startswith(media_type)
            negotiated, headers = await fetched(http, f"{api}/api/v1/catalog", headers={"Accept": media_type})
            assert headers["Content-Type"].startswith(media_type) and headers["Vary"] == "Accept"
            graph = rdflib.Graph().parse(data=by_extension, format=parser)
            conforms, _, report = pyshacl.validate(graph, shacl_graph=shapes)
            assert conforms, (extension, report[:3000])
            assert len(rdflib.Graph().parse(data=negotiated, format=parser)) == len(graph)
        turtle, _ = await fetched(http, f"{api}/api/v1/catalog", headers={"Accept": "text/html"})
    dcat = rdflib.Namespace("http://www.w3.org/ns/dcat#")
    graph = rdflib.Graph().parse(data=turtle, format="turtle")
    editions = [
        int(e.rsplit("-", 1)[1]) for e in map(str, graph.subjects(rdflib.RDF.type, dcat.Dataset)) if "#edition-" in e
    ]
    assert len(set(graph.subjects(rdflib.RDF.type, dcat.Dataset))) == len(observatory_datasets(tuple(editions)))
    schemas = set(graph.objects(None, rdflib.DCTERMS.conformsTo))
    assert rdflib.URIRef(f"{api}/api/v1/exports/organizations.schema.json") in schemas


async def test_a_catalogue_missing_what_dcat_ap_requires_does_not_conform(referentiel, services):
    api = services["api"].url
    async with aiohttp.ClientSession() as http:
        turtle, _ = await fetched(http, f"{api}/api/v1/catalog.ttl")
    graph = rdflib.Graph().parse(data=turtle, format="turtle")
    catalog = rdflib.URIRef(f"{api}/api/v1/catalog")
    graph.remove((catalog, rdflib.DCTERMS.publisher, None))
    conforms, _, report = pyshacl.validate(graph, shacl_graph=dcat_ap_shapes())
    assert not conforms and "dct:publisher" in report


async def test_the_observatory_harvests_its_own_catalogue(referentiel, services, settings):
    api = services["api"].url
    conn = await connect_as(settings, "harvester")
    await add_source(conn, Source(id="observatoire", url=f"{api}/api/v1/catalog.rdf", family="dcat",
                                  name="Observatoire"))  # fmt: skip
    await conn.close()
    await request_runs(settings, ["observatoire"])
    async with aiohttp.ClientSession() as http:
        turtle, _ = await fetched(http, f"{api}/api/v1/catalog.ttl")
    dcat_dataset = rdflib.URIRef("http://www.w3.org/ns/dcat#Dataset")
    listed = len(set(rdflib.Graph().parse(data=turtle, format="turtle").subjects(rdflib.RDF.type, dcat_dataset)))
    registry = await connect_as(settings, "consolidator")
    try:

        async def records() -> list[dict] | None:
            rows = await registry.fetch(
                "SELECT remote_id, metadata FROM registry.dataset_sources WHERE source_id = 'observatoire'"
            )
            return [dict(r) for r in rows] if len(rows) == listed else None

        harvested = await wait_for(records, timeout=90)
    finally:
        await registry.close()
    by_id = {r["remote_id"]: json.loads(r["metadata"]) for r in harvested}
    organisations = by_id[f"{api}/api/v1/catalog#organisations"]
    assert organisations["title"] == observatory_datasets(())[0].title
    assert organisations["licence"] == "licence-ouverte"
    formats = sorted(r["format"] for r in organisations["resources"])
    assert formats == ["csv", "geojson", "json"]
    assert [r["schema"]["name"] for r in organisations["resources"] if r.get("schema")] == [
        f"{api}/api/v1/exports/organizations.schema.json"
    ]
    assert organisations["publisher"]["name"] == "Open Data France"
