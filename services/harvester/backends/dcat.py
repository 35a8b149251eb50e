"""DCAT catalogues in RDF/XML, Turtle or JSON-LD, paged with Hydra.

The format comes from the URL's extension, else from the Content-Type. Paging follows
`hydra:next` (current `PartialCollectionView`) or `hydra:nextPage` (legacy `PagedCollection`),
written as IRIs or literals. `remote_id` is `dct:identifier` (else the dataset's IRI), as udata
records it; `dct:conformsTo` on a distribution gives the resource's schema.

Parsing uses pyoxigraph (a Rust RDF parser, 6 to 25 times faster than rdflib on these documents) in
a worker thread, into a plain subject -> predicate -> objects index.
"""

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import pyoxigraph
from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat

from services.harvester.backends.base import HarvestAborted, HarvestBackend, HarvestItem, PageGuard
from services.harvester.fetch import FetchError
from services.harvester.mapping import discovered, publisher_of, resource
from shared.events import SerialisedEvent

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDF_VALUE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#value"
DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
FOAF_NAME = "http://xmlns.com/foaf/0.1/name"
HYDRA = "http://www.w3.org/ns/hydra/core#"
FORMATS_BY_EXTENSION = {
    ".ttl": RdfFormat.TURTLE,
    ".rdf": RdfFormat.RDF_XML,
    ".xml": RdfFormat.RDF_XML,
    ".jsonld": RdfFormat.JSON_LD,
    ".json": RdfFormat.JSON_LD,
    ".n3": RdfFormat.N3,
    ".nt": RdfFormat.N_TRIPLES,
}
FORMATS_BY_MEDIA_TYPE = {
    "text/turtle": RdfFormat.TURTLE,
    "application/rdf+xml": RdfFormat.RDF_XML,
    "application/ld+json": RdfFormat.JSON_LD,
    "application/n-triples": RdfFormat.N_TRIPLES,
    "text/n3": RdfFormat.N3,
    "application/xml": RdfFormat.RDF_XML,
    "text/xml": RdfFormat.RDF_XML,
}

Term = NamedNode | BlankNode | Literal
Graph = dict[Term, dict[str, list[Term]]]


class DcatBackend(HarvestBackend):
    family = "dcat"

    async def items(self) -> AsyncIterator[HarvestItem]:
        guard = PageGuard()
        url: str | None = self.source.url
        while url:
            guard.visit(url)
            graph = await self._graph(url)
            datasets = sorted(
                (s for s, p in graph.items() if NamedNode(DCAT + "Dataset") in p.get(RDF_TYPE, ())),
                key=lambda s: s.value,
            )
            guard.check_items((s.value for s in datasets), url)
            for node in datasets:
                remote_id = _text(graph, node, DCT + "identifier") or (
                    node.value if isinstance(node, NamedNode) else None
                )
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
        except (SyntaxError, ValueError) as exc:
            raise HarvestAborted(f"cannot parse {url} as {rdf_format.name}: {str(exc)[:300]}") from exc

    def _map(self, graph: Graph, node: Term, remote_id: str | None) -> SerialisedEvent:
        assert remote_id is not None
        distributions = _objects(graph, node, DCAT + "distribution")
        publisher = next(iter(_objects(graph, node, DCT + "publisher")), None)
        licence = _text(graph, node, DCT + "license") or next(
            (text for d in distributions if (text := _text(graph, d, DCT + "license"))), None
        )
        return discovered(
            **self.common(remote_id),
            remote_url=_text(graph, node, DCAT + "landingPage")
            or (node.value if isinstance(node, NamedNode) else None),
            publisher=publisher_of(
                name=(_text(graph, publisher, FOAF_NAME) if publisher is not None else None) or "(inconnu)"
            ),
            title=_text(graph, node, DCT + "title"),
            description=_text(graph, node, DCT + "description"),
            licence=licence,
            themes=[t.value for t in _objects(graph, node, DCAT + "theme")],
            tags=[k.value for k in _objects(graph, node, DCAT + "keyword")],
            resources=[
                resource(
                    _text(graph, d, DCAT + "downloadURL") or _text(graph, d, DCAT + "accessURL"),
                    _text(graph, d, DCT + "format") or _text(graph, d, DCAT + "mediaType"),
                    _text(graph, d, DCT + "conformsTo"),
                )
                for d in distributions
            ],
            created=_text(graph, node, DCT + "issued"),
            modified=_text(graph, node, DCT + "modified"),
        )


def _parse(body: bytes, rdf_format: RdfFormat, url: str) -> Graph:
    graph: Graph = defaultdict(lambda: defaultdict(list))
    for triple in pyoxigraph.parse(body, format=rdf_format, base_iri=url):
        graph[triple.subject][triple.predicate.value].append(triple.object)
    return graph


def _format(url: str, media_type: str) -> RdfFormat | None:
    path = url.split("?", 1)[0].lower()
    for extension, rdf_format in FORMATS_BY_EXTENSION.items():
        if path.endswith(extension):
            return rdf_format
    return FORMATS_BY_MEDIA_TYPE.get(media_type.split(";")[0].strip().lower())


def _iri(node: Term) -> str | None:
    return str(node.value) if isinstance(node, NamedNode) else None


def _objects(graph: Graph, node: Any, predicate: str) -> list[Term]:
    return list(graph.get(node, {}).get(predicate, ()))


def _text(graph: Graph, node: Any, predicate: str) -> str | None:
    """The first value of `predicate` on `node`: a literal or IRI as text, a blank node by its name."""
    if node is None:
        return None
    values = _objects(graph, node, predicate)
    if not values:
        return None
    value = values[0]
    if isinstance(value, Literal | NamedNode):
        return str(value.value)
    label = _objects(graph, value, FOAF_NAME) or _objects(graph, value, RDF_VALUE)
    return str(label[0].value) if label else None


def _next_page(graph: Graph) -> str | None:
    """`hydra:next` (PartialCollectionView) or `hydra:nextPage` (PagedCollection), IRI or literal."""
    for predicate in (HYDRA + "next", HYDRA + "nextPage"):
        for properties in graph.values():
            if predicate in properties:
                return str(properties[predicate][0].value)
    return None
