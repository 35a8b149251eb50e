"""CSW 2.0.2 catalogues (GeoNetwork 3 and 4, pycsw and other geocatalogues), read as ISO 19139 or DCAT.

GetRecords by HTTP GET with KVP (CSW 2.0.2 §10.8), 50 records a page, asking for ISO 19139
(`outputSchema=http://www.isotc211.org/2005/gmd`); the parameters are always written in the same
order, so that a replayed catalogue answers by URL. Paging follows `csw:SearchResults/@nextRecord`:
0, a value above `numberOfRecordsMatched` or an empty page ends the walk; a `nextRecord` that goes
back stops it (the run is then not complete). An `ows:ExceptionReport`, which GeoNetwork answers
with HTTP 200, stops the run with the exception's code and text. Pages are parsed, and their
records mapped, in a worker thread.

`remote_id` is `gmd:fileIdentifier`; `remote_url` the GeoNetwork record page
(`<…>/srv/api/records/<id>`) when the endpoint is a GeoNetwork one (`<…>/<portal>/<lang>/csw`),
else the record's GetRecordById URL. Service metadata (`hierarchyLevel` service, or a
`srv:SV_ServiceIdentification`) describe no dataset and are skipped, as the DCAT family skips
`dcat:DataService`. A record that cannot be mapped is an item error with its file identifier.

DCAT output: a source URL whose query asks `outputSchema=http://www.w3.org/ns/dcat%23` (or `…dcat#`)
reads the same pages asked with that `outputSchema` (GeoNetwork answers RDF inside
`csw:SearchResults`). Each child of the results (an `rdf:RDF`, or a loose `rdf:Description` or
`dcat:Dataset` node) is written back as an RDF/XML document of its own, read by
services/harvester/rdf.py (which repairs what GeoNetwork gets wrong) and its `dcat:Dataset`s mapped
as the DCAT family maps them (`remote_id` `dct:identifier`, else the IRI); a child that cannot be read
is an item error, the others are harvested.
"""

import asyncio
import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import quote, unquote
from xml.etree.ElementTree import Element

from pyoxigraph import RdfFormat

from services.harvester.backends.base import HarvestAborted, HarvestBackend, HarvestItem, PageGuard, malformed
from services.harvester.backends.dcat import dataset_fields, datasets_of, remote_id_of
from services.harvester.backends.iso19139 import (
    GMD,
    Reader,
    first_text,
    french_locales,
    identification_of,
    is_service,
    record_dates,
)
from services.harvester.fetch import FetchError
from services.harvester.mapping import (
    discovered,
    publisher_of,
)
from services.harvester.rdf import Graph, Term, Unreadable, parse_page
from shared.events import SerialisedEvent

MAX_RECORDS = 50
OUTPUT_SCHEMA = "http://www.isotc211.org/2005/gmd"
DCAT_SCHEMA = "http://www.w3.org/ns/dcat#"


GET_RECORDS = (
    "service=CSW&version=2.0.2&request=GetRecords&typeNames=csw:Record&resultType=results&elementSetName=full"
    "&outputSchema={schema}"
)


# KVP parameters of a CSW request: dropped from the registered URL, which may be a GetCapabilities one.
CSW_PARAMETERS = frozenset(
    {"service", "version", "request", "acceptversions", "typenames", "resulttype", "elementsetname", "outputschema",
     "outputformat", "startposition", "maxrecords", "id", "constraint", "constraintlanguage", "sortby", "namespace"}
)  # fmt: skip


# GeoNetwork serves CSW at <root>/<portal>/<language>/csw (also csw-inspire...); records at <root>/srv/api/records/<id>.
GEONETWORK_CSW = re.compile(r"^(?P<root>https?://[^?#]+?)/[\w.-]+/[a-z]{3}/csw(?:-[\w-]+)?/?$")


CSW = "{http://www.opengis.net/cat/csw/2.0.2}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
RDF_RECORDS = frozenset({f"{RDF}Description", "{http://www.w3.org/ns/dcat#}Dataset"})  # loose nodes, no rdf:RDF
DCT_IDENTIFIER = "{http://purl.org/dc/terms/}identifier"
ISO_RECORDS = frozenset({f"{GMD}MD_Metadata", "{http://www.isotc211.org/2005/gmi}MI_Metadata"})
OWS_NAMESPACES = ("http://www.opengis.net/ows", "http://www.opengis.net/ows/1.1", "http://www.opengis.net/ows/2.0")


EXCEPTION_REPORTS = frozenset(
    {f"{{{ns}}}ExceptionReport" for ns in OWS_NAMESPACES}
    | {"ServiceExceptionReport", "{http://www.opengis.net/ogc}ServiceExceptionReport"}
)


@dataclass
class Page:
    """One GetRecords answer, read: its records as items, the ids it lists, where the next page starts."""

    items: list[HarvestItem] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    next_start: int | None = None


class CswBackend(HarvestBackend):
    family = "csw"

    def page_url(self, start: int) -> str:
        return get_records_url(self.source.url, start)

    @property
    def dcat(self) -> bool:
        """The source asks for DCAT output (`outputSchema` DCAT in its URL's query)."""
        return asks_dcat(self.source.url)

    def record_url(self, identifier: str) -> str:
        """The record's page on a GeoNetwork, else its GetRecordById URL."""
        if match := GEONETWORK_CSW.match(self.source.url.split("?", 1)[0]):
            return f"{match['root']}/srv/api/records/{quote(identifier, safe='')}"
        return (
            f"{endpoint_of(self.source.url)}service=CSW&version=2.0.2&request=GetRecordById&elementSetName=full"
            f"&outputSchema={OUTPUT_SCHEMA}&id={quote(identifier, safe='')}"
        )

    async def items(self) -> AsyncIterator[HarvestItem]:
        guard = PageGuard()
        start: int | None = 1
        while start is not None:
            url = self.page_url(start)
            guard.visit(url)
            try:
                body, _ = await self.fetcher.get_document(url)
            except FetchError as exc:
                raise HarvestAborted(exc.reason) from exc
            read = self._read_dcat_page if self.dcat else self._read_page
            page = await asyncio.to_thread(read, body, url, start)
            guard.check_items(page.ids, url)
            for item in page.items:
                yield item
            start = page.next_start

    def _read_page(self, body: bytes, url: str, start: int) -> Page:
        """Parse one answer and map its records (in a worker thread: neither holds the event loop)."""
        results = _search_results(body, url)
        records = list(results)
        page = Page()
        if records and not any(r.tag in ISO_RECORDS for r in records):
            raise HarvestAborted(f"no ISO 19139 record in {url}: the server answered <{_local(records[0].tag)}>")
        for record in records:
            if record.tag not in ISO_RECORDS:
                page.items.append(HarvestItem(remote_id=None, error=f"not an ISO 19139 record: <{_local(record.tag)}>"))
                continue
            identifier = first_text(record.find(f"{GMD}fileIdentifier"))
            if identifier:
                page.ids.append(identifier)
            if is_service(record):
                continue  # a service's metadata, not a dataset's
            page.items.append(self.item(identifier, partial(self._map, record, identifier or "")))
        page.next_start = _next_start(results, start, len(records), url)
        return page

    def _read_dcat_page(self, body: bytes, url: str, start: int) -> Page:
        """Parse one answer in DCAT: each child of the results read as an RDF/XML document of its own,
        its datasets mapped by the DCAT mapping; a child that cannot be read is an item error."""
        results = _search_results(body, url)
        records = list(results)
        if records and not any(r.tag == f"{RDF}RDF" or r.tag in RDF_RECORDS for r in records):
            raise HarvestAborted(f"no DCAT record in {url}: the server answered <{_local(records[0].tag)}>")
        page = Page()
        for record in records:
            if record.tag != f"{RDF}RDF" and record.tag not in RDF_RECORDS:
                page.items.append(HarvestItem(remote_id=None, error=f"not an RDF record: <{_local(record.tag)}>"))
                continue
            try:
                parsed = parse_page(_rdf_document(record), RdfFormat.RDF_XML, url)
            except Unreadable as exc:
                page.items.append(
                    HarvestItem(remote_id=_rdf_identifier(record), error=f"unreadable record: {exc}"[:1000])
                )
                continue
            for identifier, reason in parsed.unreadable:
                page.items.append(HarvestItem(remote_id=identifier, error=f"unreadable record: {reason}"[:1000]))
            for node in datasets_of(parsed.graph):
                remote_id = remote_id_of(parsed.graph, node)
                if remote_id:
                    page.ids.append(remote_id)
                page.items.append(self.item(remote_id, partial(self._map_dcat, parsed.graph, node, remote_id or "")))
        page.next_start = _next_start(results, start, len(records), url)
        return page

    def _map_dcat(self, graph: Graph, node: Term, remote_id: str) -> SerialisedEvent:
        return discovered(self.record_origin(remote_id), **dataset_fields(graph, node))

    def _map(self, record: Element, identifier: str) -> SerialisedEvent:
        identification = identification_of(record)
        if identification is None:
            raise ValueError("no gmd:identificationInfo")
        read = Reader(french_locales(record))
        citation = identification.find(f"{GMD}citation/{GMD}CI_Citation")
        themes, tags = read.keywords(identification)
        created, modified = record_dates(citation)
        return discovered(
            self.record_origin(identifier),
            remote_url=self.record_url(identifier),
            publisher=publisher_of(name=read.publisher(identification, record) or "(inconnu)"),
            title=read.text(citation.find(f"{GMD}title")) if citation is not None else None,
            description=read.text(identification.find(f"{GMD}abstract")),
            licence=read.licence(identification),
            themes=themes,
            tags=tags,
            resources=read.resources(record),
            created=created,
            modified=modified or first_text(record.find(f"{GMD}dateStamp")),
        )


def endpoint_of(url: str) -> str:
    """The CSW URL with a `?` or `&` ready for parameters; the registered URL's own CSW parameters
    (a GetCapabilities URL) are dropped, any other (a portal's key, a filter) kept."""
    base, _, query = url.partition("?")
    kept = [p for p in query.split("&") if p and p.split("=", 1)[0].lower() not in CSW_PARAMETERS]
    return f"{base}?" + "".join(f"{p}&" for p in kept)


def asks_dcat(url: str) -> bool:
    """The registered URL asks for DCAT output: `outputSchema=http://www.w3.org/ns/dcat%23` (or `#`,
    whatever the case of the parameter's name) in its query."""
    query = url.partition("?")[2]
    return any(
        name.lower() == "outputschema" and unquote(value).strip() == DCAT_SCHEMA
        for name, _, value in (p.partition("=") for p in query.split("&"))
    )


def get_records_url(url: str, start: int) -> str:
    """The GetRecords page from `start` of the CSW registered as `url`, its parameters always in this
    order; `outputSchema` ISO 19139, or DCAT (its `#` written `%23`) when the URL asks for it."""
    schema = quote(DCAT_SCHEMA, safe=":/") if asks_dcat(url) else OUTPUT_SCHEMA
    return f"{endpoint_of(url)}{GET_RECORDS.format(schema=schema)}&startPosition={start}&maxRecords={MAX_RECORDS}"


def _search_results(body: bytes, url: str) -> Element:
    """The answer's `csw:SearchResults`; an answer that is not XML, an exception report or no results
    stops the run."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        snippet = body[:60].decode(errors="replace").strip()
        raise HarvestAborted(f"response is not XML ({exc}; starts with {snippet!r}): {url}") from exc
    if root.tag in EXCEPTION_REPORTS:
        raise HarvestAborted(f"{_exception(root)} ({url})")
    results = root.find(f"{CSW}SearchResults")
    if results is None:
        raise malformed(url, f"no csw:SearchResults in <{_local(root.tag)}>")
    return results


def _rdf_document(record: Element) -> bytes:
    """One child of the results as an RDF/XML document: an `rdf:RDF` as it is, a loose node wrapped in
    one. ElementTree writes every namespace the elements and attributes use."""
    if record.tag != f"{RDF}RDF":
        document = Element(f"{RDF}RDF")
        document.append(record)
        record = document
    return ET.tostring(record)  # bytes, UTF-8 (ASCII with character references)


def _rdf_identifier(record: Element) -> str | None:
    """What names a record that cannot be read: its dataset's `dct:identifier`, else its `rdf:about`."""
    nodes = [record] if record.tag != f"{RDF}RDF" else list(record)
    datasets = [n for n in nodes if n.tag == "{http://www.w3.org/ns/dcat#}Dataset"] or nodes
    for node in datasets:
        identifier = node.find(DCT_IDENTIFIER)
        if identifier is not None and (identifier.text or "").strip():
            return (identifier.text or "").strip()
    return next((about.strip() for n in datasets if (about := n.get(f"{RDF}about")) and about.strip()), None)


def _next_start(results: Element, start: int, listed: int, url: str) -> int | None:
    """Where the next page starts, or None at the end: an empty page, `nextRecord` 0 or beyond the
    records matched. A `nextRecord` that goes back stops the walk as incomplete."""
    if not listed:
        return None
    matched = _int(results.get("numberOfRecordsMatched"))
    following = _int(results.get("nextRecord"))
    if following is None:  # not given (it should be): the record after this page
        following = start + listed
    if following == 0 or (matched is not None and following > matched):
        return None
    if following < start:
        raise HarvestAborted(f"nextRecord {following} goes back before startPosition {start}: {url}")
    return following


def _exception(report: Element) -> str:
    """`CSW exception <code> (<locator>): <text>` from an OWS exception report."""
    exception = next(iter(report), None)
    if exception is None:
        return "CSW exception report without an exception"
    code = exception.get("exceptionCode") or exception.get("code") or "unknown"
    locator = f" ({exception.get('locator')})" if exception.get("locator") else ""
    texts = [" ".join(t.split()) for t in exception.itertext() if t.strip()]
    return f"CSW exception {code}{locator}: {' '.join(texts) or 'no text'}"[:1000]


def _int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
