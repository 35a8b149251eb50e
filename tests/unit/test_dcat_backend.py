"""The DCAT backend on the shapes real catalogues have, each excerpted from a real file of
tests/data/real/dcat/ (GeoNetwork, udata's fixtures, ArcGIS Hub's feed), served from memory."""

import json
from typing import Any

import pytest

from services.harvester.backends.base import HarvestAborted, HarvestItem, RunContext
from services.harvester.backends.dcat import DcatBackend
from services.harvester.repository import Source
from tests.support.fetchers import MemoryFetcher

CATALOG = "https://catalogue.test/catalog"
RDF_XML = """<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dcat="http://www.w3.org/ns/dcat#"
         xmlns:dct="http://purl.org/dc/terms/" xmlns:foaf="http://xmlns.com/foaf/0.1/"
         xmlns:skos="http://www.w3.org/2004/02/skos/core#" xmlns:vcard="http://www.w3.org/2006/vcard/ns#">
{}
</rdf:RDF>"""


async def harvest(documents: dict[str, tuple[str | bytes, str]], url: str = CATALOG) -> list[HarvestItem]:
    source = Source(id="s", url=url, family="dcat", name="Catalogue")
    backend = DcatBackend(MemoryFetcher(documents), source, RunContext(run_id="r", mode="full"))
    return [item async for item in backend.items()]


def events(items: list[HarvestItem]) -> dict[str, Any]:
    return {item.remote_id: item.event for item in items if item.event is not None}


# From udata's fixture geonetwork.xml, a real export of sig.oreme.org's GeoNetwork.
GEONETWORK = RDF_XML.format("""
  <dcat:Dataset rdf:about="https://sig.oreme.org/geonetwork/srv/resources/datasets/0c456d2d https://sig.oreme.org/geonetwork/srv/resources0c456d2d">
    <dct:identifier>0c456d2d</dct:identifier>
    <dct:title>Data of type chemistry in Le Gardon basin</dct:title>
    <dct:abstract>Data of type chemistry measured on Le Gardon basin.</dct:abstract>
    <dcat:theme rdf:resource="http://inspire.ec.europa.eu/theme/ef">Environmental monitoring facilities</dcat:theme>
    <dcat:theme rdf:resource="http://www.eionet.europa.eu/gemet/concept/6445">pollution</dcat:theme>
  </dcat:Dataset>
  <dcat:Dataset rdf:about="https://sig.oreme.org/geonetwork/srv/resources/datasets/other">
    <dct:identifier>other</dct:identifier>
    <dct:title>A well-formed neighbour</dct:title>
  </dcat:Dataset>""")


async def test_a_geonetwork_export_with_spaces_in_iris_and_text_beside_resources_is_read_whole():
    found = events(await harvest({CATALOG: (GEONETWORK, "application/rdf+xml")}))
    assert set(found) == {"0c456d2d", "other"}
    first = found["0c456d2d"]
    assert first.title == "Data of type chemistry in Le Gardon basin"
    assert first.description == "Data of type chemistry measured on Le Gardon basin."  # dct:abstract
    assert first.themes == ["Environnement"]  # the INSPIRE theme by its code; the GEMET IRI has no label


BNODE_THEMES = RDF_XML.format("""
  <dcat:Dataset rdf:about="https://catalogue.test/dataset/1">
    <dct:title>Dataset 1</dct:title>
    <dcat:theme><skos:Concept><skos:prefLabel xml:lang="fr">Transports, Déplacements</skos:prefLabel></skos:Concept></dcat:theme>
    <dcat:theme><skos:Concept><skos:prefLabel>Répartition des espèces</skos:prefLabel></skos:Concept></dcat:theme>
    <dcat:theme><skos:Concept/></dcat:theme>
    <dcat:theme rdf:resource="https://catalogue.test/themes/velo"/>
  </dcat:Dataset>
  <skos:Concept rdf:about="https://catalogue.test/themes/velo"><skos:prefLabel xml:lang="en">Cycling</skos:prefLabel>
    <skos:prefLabel xml:lang="fr">Vélo</skos:prefLabel></skos:Concept>""")  # noqa: E501


async def test_themes_are_read_from_their_labels_never_from_a_blank_node_s_name():
    items = await harvest({CATALOG: (BNODE_THEMES, "application/rdf+xml")})
    event = events(items)["https://catalogue.test/dataset/1"]
    assert event.themes == ["Environnement", "Transport"]
    again = events(await harvest({CATALOG: (BNODE_THEMES, "application/rdf+xml")}))
    assert again["https://catalogue.test/dataset/1"].content_hash == event.content_hash


async def test_formats_given_as_media_type_iris_licences_as_rights_and_vcard_publishers():
    document = RDF_XML.format("""
  <dcat:Dataset rdf:about="https://catalogue.test/dataset/2">
    <dct:title xml:lang="en">Budget</dct:title><dct:title xml:lang="fr">Budget primitif</dct:title>
    <dct:rights>Licence Ouverte Version 2.0</dct:rights>
    <dct:publisher><vcard:Organization><vcard:organization-name>Ville de Rennes</vcard:organization-name>
      </vcard:Organization></dct:publisher>
    <dcat:distribution><dcat:Distribution>
      <dcat:downloadURL rdf:resource="https://catalogue.test/budget.json"/>
      <dcat:mediaType rdf:resource="https://www.iana.org/assignments/media-types/application/json"/>
    </dcat:Distribution></dcat:distribution>
  </dcat:Dataset>""")
    event = events(await harvest({CATALOG: (document, "application/rdf+xml")}))["https://catalogue.test/dataset/2"]
    assert event.title == "Budget primitif"
    assert event.licence == "licence-ouverte"
    assert event.publisher.name == "Ville de Rennes"
    assert [(r.url, r.format) for r in event.resources] == [("https://catalogue.test/budget.json", "json")]


JSON_LD = {
    "@context": "https://catalogue.test/context.jsonld",
    "@graph": [
        {
            "@id": "https://catalogue.test/dataset/3",
            "@type": "dcat:Dataset",
            "dct:title": "Arrêts de bus",
            "dct:publisher": {"@type": "foaf:Organization", "foaf:name": "Métropole"},
        }
    ],
}
CONTEXT = {
    "@context": {
        "dcat": "http://www.w3.org/ns/dcat#",
        "dct": "http://purl.org/dc/terms/",
        "foaf": "http://xmlns.com/foaf/0.1/",
    }
}


async def test_json_ld_served_as_json_without_extension_with_a_remote_context():
    documents = {
        CATALOG: (json.dumps(JSON_LD), "application/json"),
        "https://catalogue.test/context.jsonld": (json.dumps(CONTEXT), "application/ld+json"),
    }
    event = events(await harvest(documents))["https://catalogue.test/dataset/3"]
    assert (event.title, event.publisher.name) == ("Arrêts de bus", "Métropole")


async def test_a_context_that_cannot_be_loaded_stops_the_run_with_its_url():
    with pytest.raises(HarvestAborted, match=r"context\.jsonld"):
        await harvest({CATALOG: (json.dumps(JSON_LD), "application/json")})


async def test_an_arcgis_hub_dcat_us_feed_is_read_despite_its_remote_context():
    feed = {
        "@context": "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld",
        "conformsTo": "https://project-open-data.cio.gov/v1.1/schema",
        "dataset": [
            {
                "identifier": "https://www.arcgis.com/home/item.html?id=f656&sublayer=5",
                "title": "stationnement velos",
                "publisher": {"name": "Ville d'Evian-les-Bains"},
                "license": "<P>Soumis à la licence Etalab</P>",
                "distribution": [{"format": "CSV", "downloadURL": "https://hub.test/f656.csv"}],
            }
        ],
    }
    found = events(await harvest({CATALOG: (json.dumps(feed), "application/json")}))
    event = found["https://www.arcgis.com/home/item.html?id=f656&sublayer=5"]
    assert (event.publisher.name, event.licence, event.resources[0].format) == (
        "Ville d'Evian-les-Bains",
        "licence-ouverte",
        "csv",
    )


async def test_an_empty_catalogue_is_done_with_no_dataset():
    """udata's catalogue names its context by URL (`/api/1/site/context.jsonld`)."""
    context_url = "https://catalogue.test/api/1/site/context.jsonld"
    empty = {"@context": context_url, "@id": CATALOG, "@type": "dcat:Catalog", "dataset": []}
    documents = {
        CATALOG: (json.dumps(empty), "application/json"),
        context_url: (json.dumps(CONTEXT), "application/ld+json"),
    }
    assert await harvest(documents) == []


async def test_one_unreadable_record_is_an_item_error_and_its_neighbours_are_harvested():
    document = RDF_XML.format("""
  <dcat:Dataset rdf:about="https://catalogue.test/dataset/ok"><dct:title>Lisible</dct:title></dcat:Dataset>
  <dcat:Dataset rdf:about="https://catalogue.test/dataset/bad"><dct:identifier>bad</dct:identifier>
    <dct:title>Illisible</dct:title>
    <dct:publisher rdf:resource="https://catalogue.test/org"><foaf:Agent/></dct:publisher></dcat:Dataset>""")
    items = await harvest({CATALOG: (document, "application/rdf+xml")})
    assert set(events(items)) == {"https://catalogue.test/dataset/ok"}
    errors = [(i.remote_id, i.error) for i in items if i.error]
    assert len(errors) == 1 and errors[0][0] == "bad" and errors[0][1].startswith("unreadable record")


async def test_one_broken_turtle_block_loses_only_its_dataset():
    document = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .

<https://catalogue.test/dataset/a> a dcat:Dataset ;
    dct:title "Premier" .

<https://catalogue.test/dataset/b> a dcat:Dataset ;
    dct:identifier "b" ;
    dct:title "Guillemet manquant ;
    dct:description "x" .

<https://catalogue.test/dataset/c> a dcat:Dataset ;
    dct:title "Troisième" .
"""
    items = await harvest({CATALOG: (document, "text/turtle")})
    assert set(events(items)) == {"https://catalogue.test/dataset/a", "https://catalogue.test/dataset/c"}
    assert [i.remote_id for i in items if i.error] == ["b"]


async def test_a_page_with_nothing_readable_stops_the_run_and_says_why():
    with pytest.raises(HarvestAborted, match="no record"):
        await harvest({CATALOG: (b"<rdf:RDF><unclosed></rdf:RDF>", "application/rdf+xml")})
