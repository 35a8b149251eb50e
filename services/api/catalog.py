"""The Observatoire's own DCAT-AP 2 catalogue: one dcat:Dataset per export (organisations, datasets,
platforms, indicators, the map's layers, the yearly editions), each distribution with its format,
licence and Table Schema (`dct:conformsTo`). Pure: `catalog_triples` gives the graph for what the
database says (CatalogFacts), `serialised` writes it in Turtle, RDF/XML or JSON-LD.

Every value the DCAT-AP shapes check the class of is typed here (a licence is a dct:LicenseDocument,
a theme a skos:Concept with its label...), so the catalogue passes the range shapes without the EU
vocabularies at hand (tests/integration/test_catalog.py)."""

from dataclasses import dataclass
from datetime import date, datetime

from pyoxigraph import Literal, NamedNode, RdfFormat, Triple, serialize

from shared.tables import LICENCE, LICENCE_URL

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XSD = "http://www.w3.org/2001/XMLSchema#"
DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
FOAF = "http://xmlns.com/foaf/0.1/"
SKOS = "http://www.w3.org/2004/02/skos/core#"
VCARD = "http://www.w3.org/2006/vcard/ns#"
EU = "http://publications.europa.eu/resource/authority/"
PREFIXES = {"dcat": DCAT, "dct": DCT, "foaf": FOAF, "skos": SKOS, "vcard": VCARD, "xsd": XSD}

FORMATS = {  # extension -> (format, media type)
    "ttl": (RdfFormat.TURTLE, "text/turtle"),
    "rdf": (RdfFormat.RDF_XML, "application/rdf+xml"),
    "jsonld": (RdfFormat.JSON_LD, "application/ld+json"),
}
FILE_TYPES = {  # a distribution's format: (EU file type, IANA media type)
    "csv": ("CSV", "text/csv"),
    "json": ("JSON", "application/json"),
    "geojson": ("GEOJSON", "application/geo+json"),
}
PUBLISHER = "Open Data France"
THEME = (f"{EU}data-theme/GOVE", "Gouvernement et secteur public")


@dataclass(frozen=True)
class Distribution:
    path: str  # under the public base: /api/v1/exports/organizations.csv
    fmt: str  # a FILE_TYPES key
    title: str
    schema: str | None = None  # the Table Schema's path


@dataclass(frozen=True)
class CatalogDataset:
    name: str  # the fragment of its IRI in the catalogue
    title: str
    description: str
    keywords: tuple[str, ...]
    distributions: tuple[Distribution, ...]


@dataclass(frozen=True)
class CatalogFacts:
    """What the catalogue says that moves: when the indicators were last computed, the first day they
    were kept (the start of the temporal coverage) and the years of the editions."""

    modified: datetime
    first_day: date
    editions: tuple[int, ...]


def _exports(what: str, formats: tuple[str, ...], label: str, schema: bool = True) -> tuple[Distribution, ...]:
    return tuple(
        Distribution(f"/api/v1/exports/{what}.{fmt}", fmt, f"{label} ({fmt.upper()})",
                     f"/api/v1/exports/{what}.schema.json" if schema and fmt == "csv" else None)
        for fmt in formats
    )  # fmt: skip


def observatory_datasets(editions: tuple[int, ...]) -> list[CatalogDataset]:
    indicators = tuple(
        Distribution(f"/api/v1/exports/indicators.{fmt}?scope={scope}", fmt, f"Indicateurs, {label} ({fmt.upper()})",
                     f"/api/v1/exports/indicators.schema.json?scope={scope}" if fmt == "csv" else None)
        for scope, label in (("national", "France"), ("region", "régions"), ("departement", "départements"))
        for fmt in ("csv", "json")
    )  # fmt: skip
    layers = tuple(
        Distribution(f"/api/v1/map/{layer}.geojson", "geojson", title)
        for layer, title in (("organizations", "Organisations et leur statut"), ("regions", "Régions"),
                             ("departements", "Départements"))
    )  # fmt: skip
    return [
        CatalogDataset(
            "organisations", "Organisations publiques locales et leur publication de données ouvertes",
            "Les collectivités territoriales, leurs groupements et les organismes associés (référentiel officiel, "
            "SIREN, population, obligation d'ouvrir leurs données) avec leurs indicateurs de publication.",
            ("collectivités", "open data", "SIREN", "obligation d'ouverture"),
            _exports("organizations", ("csv", "json", "geojson"), "Organisations"),
        ),
        CatalogDataset(
            "jeux-de-donnees", "Jeux de données publiés par les collectivités",
            "Les jeux de données moissonnés sur les portails des collectivités et sur data.gouv.fr, dédoublonnés "
            "entre portails, avec leur licence, leurs formats, leurs schémas et leurs dates.",
            ("jeux de données", "moissonnage", "DCAT"),
            _exports("datasets", ("csv", "json"), "Jeux de données"),
        ),
        CatalogDataset(
            "portails", "Portails de données des collectivités",
            "Les portails où les collectivités publient, leur technologie et les organisations qu'ils hébergent.",
            ("portails", "plateformes"), _exports("platforms", ("csv", "json"), "Portails"),
        ),
        CatalogDataset(
            "indicateurs", "Indicateurs de l'open data des territoires",
            "Taux d'ouverture, jeux de données, formats, licences, fraîcheur, conformité aux schémas, par territoire "
            "et pour la France, recalculés à chaque changement.",
            ("indicateurs", "taux d'ouverture"), indicators,
        ),
        CatalogDataset(
            "cartes", "Couches cartographiques de l'Observatoire",
            "Les organisations placées sur la carte avec leur statut de publication, et les contours des régions et "
            "des départements.", ("carte", "GeoJSON"), layers,
        ),
        *(
            CatalogDataset(
                f"edition-{year}", f"Édition {year} de l'Observatoire",
                f"Les organisations et leurs indicateurs, les indicateurs des territoires et les jeux de données "
                f"au jour de l'édition {year}, en fichiers qui ne changent plus (leurs empreintes SHA-256 sont "
                f"dans /api/v1/editions/{year}/SHA256SUMS).",
                ("édition", str(year)),
                tuple(Distribution(f"/api/v1/editions/{year}/{name}.csv", "csv", f"{title}, édition {year} (CSV)",
                                   f"/api/v1/editions/{year}/{name}.schema.json")
                      for name, title in (("organizations", "Organisations"), ("indicators", "Indicateurs"),
                                          ("datasets", "Jeux de données"))),
            )
            for year in editions
        ),
    ]  # fmt: skip


def catalog_triples(base: str, facts: CatalogFacts) -> list[Triple]:
    """The catalogue's graph, its IRIs under `base` (the Observatoire's public address)."""
    catalog = f"{base}/api/v1/catalog"
    graph = _Graph()
    publisher, contact = f"{catalog}#editeur", f"{catalog}#contact"
    graph.typed(publisher, FOAF + "Agent")
    graph.text(publisher, FOAF + "name", PUBLISHER)
    graph.typed(contact, VCARD + "Kind")  # and its subclass, for readers that do not infer
    graph.typed(contact, VCARD + "Organization")
    graph.text(contact, VCARD + "fn", "Observatoire de l'open data des territoires")
    graph.link(contact, VCARD + "hasURL", f"{base}/")
    graph.typed(LICENCE_URL, DCT + "LicenseDocument")
    graph.text(LICENCE_URL, "http://www.w3.org/2000/01/rdf-schema#label", LICENCE)
    graph.typed(THEME[0], SKOS + "Concept")
    graph.text(THEME[0], SKOS + "prefLabel", THEME[1], "fr")
    graph.typed(f"{EU}data-theme", SKOS + "ConceptScheme")
    graph.text(f"{EU}data-theme", DCT + "title", "Data theme")

    graph.typed(catalog, DCAT + "Catalog")
    graph.text(catalog, DCT + "title", "Observatoire de l'open data des territoires", "fr")
    graph.text(catalog, DCT + "description", "Les données de l'Observatoire de l'open data des territoires : "
               "qui publie, quoi, où et comment, collectivité par collectivité.", "fr")  # fmt: skip
    graph.link(catalog, DCT + "publisher", publisher)
    graph.link(catalog, FOAF + "homepage", f"{base}/")
    graph.link(catalog, DCT + "license", LICENCE_URL)
    graph.link(catalog, DCT + "language", f"{EU}language/FRA")
    graph.typed(f"{EU}language/FRA", DCT + "LinguisticSystem")
    graph.link(catalog, DCAT + "themeTaxonomy", f"{EU}data-theme")
    graph.dated(catalog, DCT + "modified", facts.modified)
    for dataset in observatory_datasets(facts.editions):
        _dataset(graph, base, catalog, dataset, facts, publisher, contact)
    return graph.triples


def _dataset(graph: "_Graph", base: str, catalog: str, dataset: CatalogDataset, facts: CatalogFacts,
             publisher: str, contact: str) -> None:  # fmt: skip
    iri = f"{catalog}#{dataset.name}"
    graph.link(catalog, DCAT + "dataset", iri)
    graph.typed(iri, DCAT + "Dataset")
    graph.text(iri, DCT + "title", dataset.title, "fr")
    graph.text(iri, DCT + "description", dataset.description, "fr")
    graph.text(iri, DCT + "identifier", iri)
    for keyword in dataset.keywords:
        graph.text(iri, DCAT + "keyword", keyword, "fr")
    graph.link(iri, DCT + "publisher", publisher)
    graph.link(iri, DCAT + "contactPoint", contact)
    graph.link(iri, DCAT + "theme", THEME[0])
    graph.link(iri, DCAT + "landingPage", f"{base}/")
    graph.typed(f"{base}/", FOAF + "Document")
    graph.link(iri, DCT + "spatial", f"{EU}country/FRA")
    graph.typed(f"{EU}country/FRA", DCT + "Location")
    graph.link(iri, DCT + "accrualPeriodicity", f"{EU}frequency/UPDATE_CONT")
    graph.typed(f"{EU}frequency/UPDATE_CONT", DCT + "Frequency")
    graph.dated(iri, DCT + "modified", facts.modified)
    period = f"{iri}-periode"
    graph.link(iri, DCT + "temporal", period)
    graph.typed(period, DCT + "PeriodOfTime")
    graph.add(period, DCAT + "startDate", Literal(facts.first_day.isoformat(), datatype=NamedNode(XSD + "date")))
    for n, distribution in enumerate(dataset.distributions):
        _distribution(graph, base, iri, f"{iri}-{n + 1}", distribution)


def _distribution(graph: "_Graph", base: str, dataset: str, iri: str, distribution: Distribution) -> None:
    file_type, media_type = FILE_TYPES[distribution.fmt]
    url = f"{base}{distribution.path}"
    graph.link(dataset, DCAT + "distribution", iri)
    graph.typed(iri, DCAT + "Distribution")
    graph.text(iri, DCT + "title", distribution.title, "fr")
    graph.link(iri, DCAT + "accessURL", url)
    graph.link(iri, DCAT + "downloadURL", url)
    graph.link(iri, DCT + "format", f"{EU}file-type/{file_type}")
    graph.typed(f"{EU}file-type/{file_type}", DCT + "MediaTypeOrExtent")
    graph.link(iri, DCAT + "mediaType", f"https://www.iana.org/assignments/media-types/{media_type}")
    graph.typed(f"https://www.iana.org/assignments/media-types/{media_type}", DCT + "MediaType")
    graph.link(iri, DCT + "license", LICENCE_URL)
    if distribution.schema:
        schema = f"{base}{distribution.schema}"
        graph.link(iri, DCT + "conformsTo", schema)
        graph.typed(schema, DCT + "Standard")
        graph.text(schema, DCT + "title", f"Table Schema de {distribution.title}", "fr")


class _Graph:
    """Triples added once each, in order."""

    def __init__(self) -> None:
        self.triples: list[Triple] = []
        self._seen: set[Triple] = set()

    def add(self, subject: str, predicate: str, value: NamedNode | Literal) -> None:
        triple = Triple(NamedNode(subject), NamedNode(predicate), value)
        if triple not in self._seen:
            self._seen.add(triple)
            self.triples.append(triple)

    def link(self, subject: str, predicate: str, iri: str) -> None:
        self.add(subject, predicate, NamedNode(iri))

    def typed(self, subject: str, rdf_class: str) -> None:
        self.link(subject, RDF + "type", rdf_class)

    def text(self, subject: str, predicate: str, value: str, language: str | None = None) -> None:
        self.add(subject, predicate, Literal(value, language=language) if language else Literal(value))

    def dated(self, subject: str, predicate: str, moment: datetime) -> None:
        self.add(subject, predicate, Literal(moment.isoformat(), datatype=NamedNode(XSD + "dateTime")))


def serialised(triples: list[Triple], extension: str) -> bytes:
    rdf_format, _ = FORMATS[extension]
    written = serialize(triples, format=rdf_format, prefixes=PREFIXES)
    assert written is not None  # without an output, serialize returns the bytes
    return written


def negotiated(accept: str) -> str:
    """The extension of the first format the Accept header names (Turtle when it names none)."""
    by_media_type = {media_type: ext for ext, (_, media_type) in FORMATS.items()}
    for part in accept.split(","):
        media_type = part.split(";")[0].strip().lower()
        if media_type in by_media_type:
            return by_media_type[media_type]
        if media_type == "application/json":
            return "jsonld"
    return "ttl"
