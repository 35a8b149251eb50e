"""DCAT catalogues in RDF/XML, Turtle or JSON-LD, paged with Hydra.

The format comes from the content when it tells (JSON, XML), else from the URL's extension or the
Content-Type. Pages are read by services/harvester/rdf.py, which degrades record by record: a record
that cannot be read is an item error with its identifier, the records beside it are harvested.
JSON-LD contexts named by URL are fetched once per run and inlined; a DCAT-US 1.1 feed (ArcGIS
Hub's, whose remote context is broken) is read as the ArcGIS family reads it. Paging follows
`hydra:next` (PartialCollectionView) or `hydra:nextPage` (PagedCollection), IRIs or literals.

`remote_id` is `dct:identifier` (else the dataset's IRI), as udata records it. Texts take the French
value of a multilingual property; themes are read from their SKOS labels when the document gives them
(a blank-node theme is never named by its random id); publishers from FOAF or vCard.
"""

import asyncio
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import orjson
from pyoxigraph import Literal, NamedNode, RdfFormat

from services.harvester.backends.arcgis import dcat_us_fields
from services.harvester.backends.base import HarvestAborted, HarvestBackend, HarvestItem, PageGuard
from services.harvester.fetch import FetchError
from services.harvester.mapping import discovered, first_open_licence, publisher_of, resource
from services.harvester.rdf import Graph, ParsedPage, Term, Unreadable, detect_format, is_dcat_us, parse_page
from services.harvester.rdf import remote_contexts as contexts_named_in
from services.harvester.vocabularies import EU_DATA_THEME_IRI, EU_FILE_TYPE_IRI, INSPIRE_THEME_IRI, MEDIA_TYPE_IRI
from shared.events import SerialisedEvent

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDF_VALUE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#value"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
FOAF_NAME = "http://xmlns.com/foaf/0.1/name"
SKOS_LABEL = "http://www.w3.org/2004/02/skos/core#prefLabel"
VCARD = "http://www.w3.org/2006/vcard/ns#"
HYDRA = "http://www.w3.org/ns/hydra/core#"
NAMES = (FOAF_NAME, VCARD + "organization-name", VCARD + "fn", SKOS_LABEL, RDFS_LABEL)
LABELS = (SKOS_LABEL, RDFS_LABEL, DCT + "title", RDF_VALUE, FOAF_NAME)
LANGUAGES = ("fr", "", "en")  # the first a multilingual text is read in ("" is a text without language)


class DcatBackend(HarvestBackend):
    family = "dcat"

    async def items(self) -> AsyncIterator[HarvestItem]:
        self._contexts: dict[str, Any] = {}
        guard = PageGuard()
        url: str | None = self.source.url
        while url:
            guard.visit(url)
            body, media_type = await self._fetch(url)
            rdf_format = detect_format(url, media_type, body)
            if rdf_format is None:
                raise HarvestAborted(f"unable to detect the RDF format of {url} (Content-Type {media_type!r})")
            document = _json(body) if rdf_format == RdfFormat.JSON_LD else None
            if is_dcat_us(document):
                async for item in self._dcat_us(document, guard, url):
                    yield item
                return
            page = await self._page(body, rdf_format, url, document)
            for identifier, reason in page.unreadable:
                yield HarvestItem(remote_id=identifier, error=f"unreadable record: {reason}"[:1000])
            datasets = datasets_of(page.graph)
            guard.check_items((s.value for s in datasets), url)
            for node in datasets:
                remote_id = remote_id_of(page.graph, node)
                yield self.item(remote_id, partial(self._map, page.graph, node, remote_id))
            url = _next_page(page.graph)

    async def _fetch(self, url: str) -> tuple[bytes, str]:
        try:
            return await self.fetcher.get_document(url)
        except FetchError as exc:
            raise HarvestAborted(exc.reason) from exc

    async def _page(self, body: bytes, rdf_format: RdfFormat, url: str, document: Any) -> ParsedPage:
        if document is not None:
            await self._load_contexts(document, url)
        try:
            return await asyncio.to_thread(parse_page, body, rdf_format, url, self._contexts)
        except Unreadable as exc:
            raise HarvestAborted(f"no record of {url} can be read as {rdf_format.name}: {exc}") from exc

    async def _load_contexts(self, document: Any, url: str) -> None:
        """Fetch the JSON-LD contexts the page names by URL (once per run): the parser loads none."""
        for context_url in sorted(contexts_named_in(document) - set(self._contexts)):
            try:
                loaded = await self.fetcher.get_json(context_url)
            except FetchError as exc:
                raise HarvestAborted(f"cannot load the JSON-LD context {context_url} of {url}: {exc.reason}") from exc
            if not isinstance(loaded, dict) or "@context" not in loaded:
                raise HarvestAborted(f"the JSON-LD context {context_url} of {url} has no @context")
            self._contexts[context_url] = loaded["@context"]

    async def _dcat_us(self, feed: dict[str, Any], guard: PageGuard, url: str) -> AsyncIterator[HarvestItem]:
        datasets = [d for d in feed["dataset"] if isinstance(d, dict)]
        guard.check_items((d.get("identifier") for d in datasets), url)
        for raw in datasets:
            yield self.item(raw.get("identifier"), partial(self._map_dcat_us, raw))

    def _map_dcat_us(self, raw: dict[str, Any]) -> SerialisedEvent:
        return discovered(self.record_origin(str(raw["identifier"])), **dcat_us_fields(raw))

    def _map(self, graph: Graph, node: Term, remote_id: str | None) -> SerialisedEvent:
        assert remote_id is not None
        return discovered(self.record_origin(remote_id), **dataset_fields(graph, node))


def datasets_of(graph: Graph) -> list[Term]:
    """The graph's `dcat:Dataset` nodes (never a `dcat:DataService`), in a stable order."""
    return sorted(
        (s for s, p in graph.items() if NamedNode(DCAT + "Dataset") in p.get(RDF_TYPE, ())),
        key=lambda s: str(s.value),
    )


def remote_id_of(graph: Graph, node: Term) -> str | None:
    """`dct:identifier`, else the dataset's IRI (as udata records it)."""
    return _text(graph, node, DCT + "identifier") or _iri(node)


def dataset_fields(graph: Graph, node: Term) -> dict[str, Any]:
    """The fields of a DCAT dataset's event, but those common to the run (`HarvestBackend.common`):
    the DCAT mapping, shared by the families that read DCAT (dcat, and csw asked for DCAT output)."""
    distributions = _objects(graph, node, DCAT + "distribution")
    return {
        "remote_url": _text(graph, node, DCAT + "landingPage") or _iri(node),
        "publisher": publisher_of(name=_publisher(graph, node) or "(inconnu)"),
        "title": _text(graph, node, DCT + "title"),
        "description": _text(graph, node, DCT + "description") or _text(graph, node, DCT + "abstract"),
        "licence": _licence(graph, node, distributions),
        "themes": [theme for t in _objects(graph, node, DCAT + "theme") if (theme := _theme(graph, t))],
        "tags": [k.value for k in _objects(graph, node, DCAT + "keyword") if isinstance(k, Literal)],
        "resources": [
            resource(
                _text(graph, d, DCAT + "downloadURL") or _text(graph, d, DCAT + "accessURL"),
                _format(graph, d),
                _text(graph, d, DCT + "conformsTo"),
            )
            for d in distributions
        ],
        "created": _text(graph, node, DCT + "issued"),
        "modified": _text(graph, node, DCT + "modified"),
    }


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None  # the parser says why


def _iri(node: Any) -> str | None:
    return str(node.value) if isinstance(node, NamedNode) else None


def _objects(graph: Graph, node: Any, predicate: str) -> list[Term]:
    return list(graph.get(node, {}).get(predicate, ()))


def _preferred(values: list[Term]) -> Term | None:
    """The value in the first of LANGUAGES, else the first value; empty texts are not values."""
    values = [v for v in values if not isinstance(v, Literal) or v.value.strip()]
    for language in LANGUAGES:
        for value in values:
            if isinstance(value, Literal) and (value.language or "") == language:
                return value
    return values[0] if values else None


def _label(graph: Graph, node: Any, predicates: tuple[str, ...] = LABELS) -> str | None:
    """A node's own text: a literal's value, else the first of `predicates` it has."""
    if isinstance(node, Literal):
        return str(node.value)
    for predicate in predicates:
        if (value := _preferred(_objects(graph, node, predicate))) is not None and isinstance(value, Literal):
            return str(value.value)
    return None


def _text(graph: Graph, node: Any, predicate: str) -> str | None:
    """The value of `predicate` on `node` as text: a literal (the French one of several), an IRI, or a
    blank node by its label. Never a blank node's generated name."""
    value = _preferred(_objects(graph, node, predicate)) if node is not None else None
    if value is None or isinstance(value, Literal):
        return None if value is None else str(value.value)
    return _iri(value) or _label(graph, value)


def _publisher(graph: Graph, node: Term) -> str | None:
    """The name of `dct:publisher` (FOAF, vCard, SKOS or RDFS), else the organisation of the contact point."""
    for publisher in _objects(graph, node, DCT + "publisher"):
        if name := _label(graph, publisher, NAMES):
            return name
    for contact in _objects(graph, node, DCAT + "contactPoint"):
        if name := _label(graph, contact, (VCARD + "organization-name",)):
            return name
    return None


def _licence(graph: Graph, node: Term, distributions: list[Term]) -> str | None:
    """The first open licence the record states (dataset, distributions, then rights), else the first."""
    holders = [node, *distributions]
    stated = [
        text
        for predicate in (DCT + "license", DCT + "rights")
        for holder in holders
        for value in _objects(graph, holder, predicate)
        if (text := _iri(value) or _label(graph, value))
    ]
    return first_open_licence(stated)


def _format(graph: Graph, distribution: Term) -> str | None:
    """`dct:format`, else `dcat:mediaType`: text, an IANA or EU IRI, else a node's label, else its IRI."""
    for predicate in (DCT + "format", DCAT + "mediaType"):
        value = _preferred(_objects(graph, distribution, predicate))
        if value is None:
            continue
        iri = _iri(value)
        if iri and (MEDIA_TYPE_IRI.match(iri) or EU_FILE_TYPE_IRI.match(iri)):
            return iri
        if text := _label(graph, value) or iri:
            return text
    return None


def _theme(graph: Graph, theme: Term) -> str | None:
    """A theme as text: a known vocabulary's IRI (it maps by its code), else its label, else its IRI."""
    iri = _iri(theme)
    if iri and (EU_DATA_THEME_IRI.match(iri) or INSPIRE_THEME_IRI.match(iri)):
        return iri
    return _label(graph, theme, (SKOS_LABEL, RDFS_LABEL, DCT + "title")) or iri


def _next_page(graph: Graph) -> str | None:
    """`hydra:next` (PartialCollectionView) or `hydra:nextPage` (PagedCollection), IRI or literal."""
    for predicate in (HYDRA + "next", HYDRA + "nextPage"):
        for properties in graph.values():
            if predicate in properties:
                return str(properties[predicate][0].value)
    return None
