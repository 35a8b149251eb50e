"""Reading RDF documents as real catalogues write them: pure functions, no I/O.

A catalogue page becomes a plain index subject -> predicate -> objects. Parsing degrades step by
step, so that one bad record never costs the whole catalogue:

1. the document as it is, strictly (pyoxigraph);
2. RDF/XML repaired where a person can still read it (an IRI with spaces, a property element with
   both `rdf:resource` and text, as GeoNetwork writes them), then parsed leniently;
3. the document cut into its records (RDF/XML top-level nodes, Turtle blocks, JSON-LD nodes), each
   parsed on its own: a record that still cannot be read is reported with its identifier, the
   others are kept. Blank-node labels are kept across records (`_:b1` names one node everywhere).

The format comes from the content itself when it tells (JSON starts with `{` or `[`, XML with an
element), else from the URL's extension or the Content-Type.
"""

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import orjson
import pyoxigraph
from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DCT_IDENTIFIER = "http://purl.org/dc/terms/identifier"

FORMATS_BY_EXTENSION = {
    ".ttl": RdfFormat.TURTLE,
    ".rdf": RdfFormat.RDF_XML,
    ".xml": RdfFormat.RDF_XML,
    ".owl": RdfFormat.RDF_XML,
    ".jsonld": RdfFormat.JSON_LD,
    ".json": RdfFormat.JSON_LD,
    ".n3": RdfFormat.N3,
    ".nt": RdfFormat.N_TRIPLES,
    ".trig": RdfFormat.TRIG,
}
FORMATS_BY_MEDIA_TYPE = {
    "text/turtle": RdfFormat.TURTLE,
    "application/x-turtle": RdfFormat.TURTLE,
    "application/rdf+xml": RdfFormat.RDF_XML,
    "application/xml": RdfFormat.RDF_XML,
    "text/xml": RdfFormat.RDF_XML,
    "application/ld+json": RdfFormat.JSON_LD,
    "application/json": RdfFormat.JSON_LD,
    "application/n-triples": RdfFormat.N_TRIPLES,
    "text/n3": RdfFormat.N3,
    "application/trig": RdfFormat.TRIG,
}
XML_START = re.compile(rb"^(<\?xml|<!--|<!DOCTYPE|<[A-Za-z_][\w.-]*(:[\w.-]+)?[\s/>])")
# Characters an IRI may not hold that real exports put in rdf:about and rdf:resource.
NOT_IN_IRI = re.compile(r"[\s<>\"{}|\\^`]")
TURTLE_DIRECTIVE = re.compile(r"^\s*(@prefix|@base|prefix\s|base\s)", re.IGNORECASE)
TURTLE_IDENTIFIER = re.compile(r"(?:dct|dcterms):identifier\s+\"([^\"]+)\"")

Term = NamedNode | BlankNode | Literal
Graph = dict[Term, dict[str, list[Term]]]


@dataclass
class ParsedPage:
    graph: Graph
    unreadable: list[tuple[str | None, str]] = field(default_factory=list)  # (identifier, reason) per record


class Unreadable(ValueError):
    """Nothing in the document could be read."""


def detect_format(url: str, media_type: str, body: bytes) -> RdfFormat | None:
    """JSON-LD or RDF/XML when the content says so; else the extension, else the Content-Type."""
    start = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:200]
    if start[:1] in (b"{", b"["):
        return RdfFormat.JSON_LD
    if XML_START.match(start):
        return RdfFormat.RDF_XML
    path = url.split("?", 1)[0].split("#", 1)[0].lower()
    for extension, rdf_format in FORMATS_BY_EXTENSION.items():
        if path.endswith(extension) and rdf_format not in (RdfFormat.JSON_LD, RdfFormat.RDF_XML):
            return rdf_format
    declared = FORMATS_BY_MEDIA_TYPE.get(media_type.split(";")[0].strip().lower())
    if declared not in (None, RdfFormat.JSON_LD, RdfFormat.RDF_XML):
        return declared
    if start.startswith((b"@prefix", b"@base", b"PREFIX", b"prefix", b"<http", b"#")):
        return RdfFormat.TURTLE
    return None


def parse_page(body: bytes, rdf_format: RdfFormat, base_iri: str, contexts: dict[str, Any] | None = None) -> ParsedPage:
    """The page's graph, degrading as the module says; raises `Unreadable` when nothing can be read."""
    if rdf_format == RdfFormat.JSON_LD:
        return _parse_json_ld(body, base_iri, contexts or {})
    try:
        return ParsedPage(_graph([_triples(body, rdf_format, base_iri)]))
    except (SyntaxError, ValueError) as exc:
        first_error = exc
    if rdf_format == RdfFormat.RDF_XML:
        return _parse_rdf_xml(body, base_iri, first_error)
    if rdf_format in (RdfFormat.TURTLE, RdfFormat.N3, RdfFormat.N_TRIPLES):
        return _parse_records(_turtle_records(body), rdf_format, base_iri, first_error)
    raise Unreadable(_reason(first_error))


def remote_contexts(document: Any) -> set[str]:
    """The URLs a JSON-LD document names as its `@context` (top level and in its nodes)."""
    found: set[str] = set()

    def visit(value: Any) -> None:
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    for node in _nodes_with_context(document):
        visit(node.get("@context"))
    return found


def is_dcat_us(document: Any) -> TypeGuard[dict[str, Any]]:
    """A Project Open Data (DCAT-US 1.1) catalogue, as ArcGIS Hub and data.json feeds serve."""
    if not isinstance(document, dict) or not isinstance(document.get("dataset"), list):
        return False
    markers = (document.get("conformsTo"), document.get("@context"), document.get("describedBy"))
    return any(isinstance(m, str) and "project-open-data" in m for m in markers)


def _triples(body: bytes | str, rdf_format: RdfFormat, base_iri: str, lenient: bool = False) -> list[Any]:
    return list(pyoxigraph.parse(body, format=rdf_format, base_iri=base_iri, lenient=lenient))


def _graph(parts: Iterable[list[Any]]) -> Graph:
    graph: Graph = defaultdict(lambda: defaultdict(list))
    for triples in parts:
        for triple in triples:
            graph[triple.subject][triple.predicate.value].append(triple.object)
    return graph


def _reason(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300]


# --- RDF/XML ------------------------------------------------------------------------------------------


def _parse_rdf_xml(body: bytes, base_iri: str, first_error: Exception) -> ParsedPage:
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise Unreadable(f"not well-formed XML: {exc}") from exc
    _repair(root)
    try:
        return ParsedPage(_graph([_triples(ET.tostring(root), RdfFormat.RDF_XML, base_iri, lenient=True)]))
    except (SyntaxError, ValueError):
        pass
    records = [(_xml_identifier(node), ET.tostring(_wrapped(root, node))) for node in _xml_records(root)]
    return _parse_records(records, RdfFormat.RDF_XML, base_iri, first_error)


def _repair(root: ET.Element) -> None:
    """What GeoNetwork and hand-made exports get wrong and a reader still understands: spaces in IRIs
    (percent-encoded), and text beside `rdf:resource` (the IRI is the value; the text is dropped)."""
    for element in root.iter():
        for attribute in (f"{{{RDF}}}about", f"{{{RDF}}}resource", f"{{{RDF}}}datatype"):
            value = element.get(attribute)
            if value is not None and NOT_IN_IRI.search(value.strip()):
                element.set(attribute, NOT_IN_IRI.sub(lambda m: f"%{ord(m.group()):02X}", value.strip()))
        if element.get(f"{{{RDF}}}resource") is not None and len(element) == 0:
            element.text = None


def _xml_records(root: ET.Element) -> list[ET.Element]:
    """Top-level nodes, with the datasets nested in a catalogue taken out as records of their own."""
    records = []
    for node in root:
        nested = [child for prop in node for child in prop if child.tag == "{http://www.w3.org/ns/dcat#}Dataset"]
        for prop in list(node):
            if any(child in nested for child in prop):
                node.remove(prop)
        records += [node, *nested]
    return records


def _wrapped(root: ET.Element, node: ET.Element) -> ET.Element:
    document = ET.Element(root.tag, root.attrib)
    document.append(node)
    return document


def _xml_identifier(node: ET.Element) -> str | None:
    identifier = node.find("{http://purl.org/dc/terms/}identifier")
    if identifier is not None and identifier.text and identifier.text.strip():
        return identifier.text.strip()
    return node.get(f"{{{RDF}}}about")


# --- Turtle -------------------------------------------------------------------------------------------


def _turtle_records(body: bytes) -> list[tuple[str | None, bytes]]:
    """Blocks of statements, each with the document's prefixes: a block ends with a line ending in
    `.` followed by a line that starts a new subject at the first column."""
    lines = body.decode("utf-8", errors="replace").splitlines()
    header = [line for line in lines if TURTLE_DIRECTIVE.match(line)]
    blocks: list[list[str]] = [[]]
    ended = False  # the last line with content ends with a full stop
    for line in lines:
        if TURTLE_DIRECTIVE.match(line):
            continue
        if ended and line[:1] not in ("", " ", "\t", "#"):
            blocks.append([])
        blocks[-1].append(line)
        if line.strip() and not line.lstrip().startswith("#"):
            ended = line.rstrip().endswith(".")
    return [
        (_turtle_identifier("\n".join(block)), "\n".join([*header, *block]).encode())
        for block in blocks
        if any(line.strip() and not line.lstrip().startswith("#") for line in block)
    ]


def _turtle_identifier(text: str) -> str | None:
    match = TURTLE_IDENTIFIER.search(text)
    return match.group(1) if match else None


# --- JSON-LD ------------------------------------------------------------------------------------------


def _parse_json_ld(body: bytes, base_iri: str, contexts: dict[str, Any]) -> ParsedPage:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Unreadable(f"not JSON: {exc}") from exc
    document = _inline_contexts(document, contexts)
    try:
        return ParsedPage(_graph([_triples(orjson.dumps(document), RdfFormat.JSON_LD, base_iri)]))
    except (SyntaxError, ValueError) as exc:
        first_error = exc
    records = [(_json_identifier(node), orjson.dumps(node)) for node in _json_records(document)]
    return _parse_records(records, RdfFormat.JSON_LD, base_iri, first_error)


def _nodes_with_context(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, list):
        return [n for n in document if isinstance(n, dict)]
    if isinstance(document, dict):
        graph = document.get("@graph")
        return [document, *(n for n in graph if isinstance(n, dict))] if isinstance(graph, list) else [document]
    return []


def _inline_contexts(document: Any, contexts: dict[str, Any]) -> Any:
    """The document with every remote `@context` replaced by the context it names."""

    def resolve(value: Any) -> Any:
        if isinstance(value, str) and value in contexts:
            return contexts[value]
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return value

    for node in _nodes_with_context(document):
        if "@context" in node:
            node["@context"] = resolve(node["@context"])
    return document


def _json_records(document: Any) -> list[dict[str, Any]]:
    """Each node of the document, with the context it is read under."""
    if isinstance(document, list):
        return [n for n in document if isinstance(n, dict)]
    if isinstance(document, dict) and isinstance(document.get("@graph"), list):
        context = document.get("@context")
        outer = {k: v for k, v in document.items() if k != "@graph"}
        nodes = [n for n in document["@graph"] if isinstance(n, dict)]
        return [outer, *({"@context": context, **n} if context is not None else n for n in nodes)]
    return [document] if isinstance(document, dict) else []


def _json_identifier(node: dict[str, Any]) -> str | None:
    for key in ("dct:identifier", "dcterms:identifier", "identifier", DCT_IDENTIFIER, "@id"):
        value = node.get(key)
        if isinstance(value, list) and value:
            value = value[0]
        if isinstance(value, dict):
            value = value.get("@value")
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


# --- Records ------------------------------------------------------------------------------------------


def _parse_records(
    records: list[tuple[str | None, bytes]],
    rdf_format: RdfFormat,
    base_iri: str,
    first_error: Exception,
) -> ParsedPage:
    parts, unreadable = [], []
    for identifier, text in records:
        try:
            parts.append(_triples(text, rdf_format, base_iri, lenient=True))
        except (SyntaxError, ValueError) as exc:
            unreadable.append((identifier, _reason(exc)))
    if not parts:
        raise Unreadable(_reason(first_error))
    return ParsedPage(_graph(parts), unreadable)
