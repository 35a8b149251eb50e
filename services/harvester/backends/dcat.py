"""DCAT catalogues in RDF/XML, Turtle or JSON-LD, paged with Hydra.

The format comes from the URL's extension, else from the Content-Type. Paging follows
`hydra:next` (current `PartialCollectionView`) or `hydra:nextPage` (legacy `PagedCollection`),
written as IRIs or literals. `remote_id` is `dct:identifier` (else the dataset's IRI), as udata
records it; `dct:conformsTo` on a distribution gives the resource's schema. Pages are parsed in a
worker thread so that a large catalogue does not block the event loop.
"""

import asyncio
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF
from rdflib.term import Node

from services.harvester.backends.base import HarvestAborted, HarvestBackend, HarvestItem, PageGuard
from services.harvester.fetch import FetchError
from services.harvester.mapping import discovered, resource
from shared.events import DatasetDiscovered, Publisher

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
FORMATS_BY_EXTENSION = {
    ".ttl": "turtle",
    ".rdf": "xml",
    ".xml": "xml",
    ".jsonld": "json-ld",
    ".json": "json-ld",
    ".n3": "n3",
    ".nt": "nt",
}
FORMATS_BY_MEDIA_TYPE = {
    "text/turtle": "turtle",
    "application/rdf+xml": "xml",
    "application/ld+json": "json-ld",
    "application/n-triples": "nt",
    "text/n3": "n3",
    "application/xml": "xml",
    "text/xml": "xml",
}


class DcatBackend(HarvestBackend):
    family = "dcat"

    async def items(self) -> AsyncIterator[HarvestItem]:
        guard = PageGuard()
        url: str | None = self.source.url
        while url:
            guard.visit(url)
            graph = await self._graph(url)
            datasets = sorted(set(graph.subjects(RDF.type, DCAT.Dataset)), key=str)
            guard.check_items(datasets, url)
            for node in datasets:
                remote_id = _text(graph, node, DCTERMS.identifier) or (str(node) if isinstance(node, URIRef) else None)
                yield self.item(remote_id, partial(self._map, graph, node, remote_id))
            url = _next_page(graph)

    async def _graph(self, url: str) -> Graph:
        try:
            body, media_type = await self.fetcher.get_document(url)
        except FetchError as exc:
            raise HarvestAborted(exc.reason) from exc
        rdf_format = _format(url, media_type)
        if rdf_format is None:
            raise HarvestAborted(f"unable to detect the RDF format of {url} (Content-Type {media_type!r})")
        try:
            return await asyncio.to_thread(_parse, body, rdf_format, url)
        except Exception as exc:  # rdflib raises many kinds of parse errors
            raise HarvestAborted(f"cannot parse {url} as {rdf_format}: {str(exc)[:300]}") from exc

    def _map(self, graph: Graph, node: Node, remote_id: str | None) -> DatasetDiscovered:
        assert remote_id is not None
        distributions = list(graph.objects(node, DCAT.distribution))
        publisher = next(iter(graph.objects(node, DCTERMS.publisher)), None)
        return discovered(
            **self.common(remote_id),
            remote_url=_text(graph, node, DCAT.landingPage) or (str(node) if isinstance(node, URIRef) else None),
            publisher=Publisher(
                name=(_text(graph, publisher, FOAF.name) if publisher is not None else None) or "(inconnu)"
            ),
            title=_text(graph, node, DCTERMS.title),
            description=_text(graph, node, DCTERMS.description),
            licence=_text(graph, node, DCTERMS.license)
            or next(
                (_text(graph, d, DCTERMS.license) for d in distributions if _text(graph, d, DCTERMS.license)), None
            ),
            themes=[str(t) for t in graph.objects(node, DCAT.theme)],
            tags=[str(k) for k in graph.objects(node, DCAT.keyword)],
            resources=[
                resource(
                    _text(graph, d, DCAT.downloadURL) or _text(graph, d, DCAT.accessURL),
                    _text(graph, d, DCTERMS.format) or _text(graph, d, DCAT.mediaType),
                    _text(graph, d, DCTERMS.conformsTo),
                )
                for d in distributions
            ],
            created=_text(graph, node, DCTERMS.issued),
            modified=_text(graph, node, DCTERMS.modified),
        )


def _parse(body: bytes, rdf_format: str, url: str) -> Graph:
    graph = Graph()
    graph.parse(data=body, format=rdf_format, publicID=url)
    return graph


def _format(url: str, media_type: str) -> str | None:
    path = url.split("?", 1)[0].lower()
    for extension, rdf_format in FORMATS_BY_EXTENSION.items():
        if path.endswith(extension):
            return rdf_format
    return FORMATS_BY_MEDIA_TYPE.get(media_type.split(";")[0].strip().lower())


def _text(graph: Graph, node: Any, predicate: URIRef) -> str | None:
    if node is None:
        return None
    value = next(iter(graph.objects(node, predicate)), None)
    if value is None:
        return None
    if isinstance(value, Literal | URIRef):
        return str(value)
    label = next(iter(graph.objects(value, FOAF.name)), None) or next(iter(graph.objects(value, RDF.value)), None)
    return str(label) if label is not None else None


def _next_page(graph: Graph) -> str | None:
    """`hydra:next` (PartialCollectionView) or `hydra:nextPage` (PagedCollection), IRI or literal."""
    for predicate in (HYDRA.next, HYDRA.nextPage):
        for value in graph.objects(None, predicate):
            return str(value)
    return None
