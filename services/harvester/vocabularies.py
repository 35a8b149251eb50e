"""The vocabularies every portal family is normalised to, so that indicators compare like with like:
licences (shared.vocabulary.LICENCES), file formats (short lower-case names), and themes (the 19
themes of Open Data France's observatory). Pure functions over plain text; docs/harvesting.md has
the tables in prose.

Portals write the same thing many ways: a licence as `lov2`, "Licence Ouverte Version 2.0", an
Etalab URL or an EU authority IRI; a format as `CSV`, `.csv`, `text/csv`, an IANA media-type IRI or
an EU file-type IRI; a theme as an ODS label ("Transports, Déplacements"), a CKAN group, an EU
data-theme IRI, an INSPIRE theme IRI or a SKOS label.
"""

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from shared.vocabulary import LICENCES

# --- Licences ---------------------------------------------------------------------------------------

LICENCE_KEYS = {
    "fr-lo": "licence-ouverte",
    "lov2": "licence-ouverte",
    "etalab-2.0": "licence-ouverte",
    "etalab-1.0": "licence-ouverte",
    "odc-odbl": "odbl",
    "odbl": "odbl",
    "cc-by": "cc-by",
    "cc-by-4.0": "cc-by",
    "cc_by_4_0": "cc-by",
    "cc-by-sa": "cc-by-sa",
    "cc-by-sa-4.0": "cc-by-sa",
    "cc_bysa_4_0": "cc-by-sa",
    "cc0": "cc0",
    "cc-zero": "cc0",
    "odc-pddl": "cc0",
    "odc_pddl": "cc0",
    "odc_odbl": "odbl",
    "notspecified": "non-specifiee",
    "license not specified": "non-specifiee",
    "licence non spécifiée": "non-specifiee",
    "other-closed": "autre",
}
# Free text and URLs as portals write them, first match wins. Non-commercial and no-derivative
# Creative Commons licences are not open: they are told apart before the open ones.
LICENCE_WORDS = (
    ("non-specifiee", ("no license provided", "not specified", "non specifiee", "non spécifiée", "non précisée")),
    ("autre", ("-nc", "_nc", " nc", "noncommercial", "non commercial", "-nd", "_nd", "noderiv", "pas de modification")),
    ("licence-ouverte", ("licence ouverte", "licence-ouverte", "open licence", "etalab", "lo-2.0", "lo 2.0")),
    ("odbl", ("odbl", "open database", "opendatacommons.org/licenses/odbl")),
    ("cc0", ("cc0", "cczero", "publicdomain/zero", "domaine public")),
    ("cc-by-sa", ("cc-by-sa", "cc by-sa", "by-sa", "cc_bysa", "attribution share-alike", "attribution-sharealike")),
    ("cc-by", ("cc-by", "cc by", "cc_by", "creativecommons.org/licenses/by/", "creative commons attribution")),
)
assert {licence for licence, _ in LICENCE_WORDS} | set(LICENCE_KEYS.values()) <= set(LICENCES)


def normalise_licence(text: str | None) -> str | None:
    """One of LICENCES, `autre` for a named licence outside them, None when nothing is said."""
    if not text:
        return None
    key = text.lower().strip()
    if key in LICENCE_KEYS:
        return LICENCE_KEYS[key]
    last_segment = key.rstrip("/").rsplit("/", 1)[-1]  # an EU authority or SPDX IRI ends with the id
    if last_segment in LICENCE_KEYS and "/" in key:
        return LICENCE_KEYS[last_segment]
    for licence, words in LICENCE_WORDS:
        if any(word in key for word in words):
            return licence
    return "autre"


# --- Formats ----------------------------------------------------------------------------------------

FORMATS = {
    "csv": "csv",
    "web page": "html",
    "arcgis geoservices rest api": "api",
    "esri rest": "api",
    "text/csv": "csv",
    "tsv": "csv",
    "text/tab-separated-values": "csv",
    "json": "json",
    "application/json": "json",
    "text/json": "json",
    "geojson": "geojson",
    "application/geo+json": "geojson",
    "application/vnd.geo+json": "geojson",
    "xlsx": "xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "xls": "xls",
    "excel": "xls",
    "application/vnd.ms-excel": "xls",
    "ods": "ods",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "pdf": "pdf",
    "application/pdf": "pdf",
    "shp": "shp",
    "shapefile": "shp",
    "esri shapefile": "shp",
    "shape": "shp",
    "application/x-shapefile": "shp",
    "zip": "zip",
    "application/zip": "zip",
    "application/x-zip-compressed": "zip",
    "xml": "xml",
    "application/xml": "xml",
    "text/xml": "xml",
    "gml": "gml",
    "application/gml+xml": "gml",
    "gtfs": "gtfs",
    "kml": "kml",
    "application/vnd.google-earth.kml+xml": "kml",
    "kmz": "kmz",
    "application/vnd.google-earth.kmz": "kmz",
    "api": "api",
    "wms": "wms",
    "ogc wms": "wms",
    "ogc:wms": "wms",
    "wfs": "wfs",
    "ogc wfs": "wfs",
    "ogc:wfs": "wfs",
    "txt": "txt",
    "text/plain": "txt",
    "html": "html",
    "text/html": "html",
    "rdf": "rdf",
    "application/rdf+xml": "rdf",
    "jsonld": "jsonld",
    "json-ld": "jsonld",
    "application/ld+json": "jsonld",
    "turtle": "ttl",
    "text/turtle": "ttl",
    "ttl": "ttl",
    "doc": "doc",
    "docx": "docx",
    "odt": "odt",
    "parquet": "parquet",
    "application/vnd.apache.parquet": "parquet",
    "jpeg": "jpeg",
    "jpg": "jpeg",
    "image/jpeg": "jpeg",
    "png": "png",
    "image/png": "png",
    "tiff": "tiff",
    "geotiff": "tiff",
    "gpkg": "gpkg",
    "geopackage": "gpkg",
    "ecw": "ecw",
    "mapinfo tab": "tab",
    "mapinfo": "tab",
    "image/tiff": "tiff",
}
# GeoNetwork's link protocols ("OGC:WMS-1.1.1-http-get-map", "WWW:LINK-1.0-http--link"): a download
# says nothing of the file's format.
GEONETWORK_PROTOCOLS = (
    ("ogc:wms", "wms"), ("ogc:wfs", "wfs"), ("ogc:wmts", "wmts"), ("www:link", "html"), ("www:download", None),
    ("esri:rest", "api"),
)  # fmt: skip
MEDIA_TYPE_IRI = re.compile(r"^https?://www\.iana\.org/assignments/media-types/(?P<type>[^/]+/[^/?#]+)", re.I)
EU_FILE_TYPE_IRI = re.compile(
    r"^https?://publications\.europa\.eu/resource/authority/file-type/(?P<code>[^/?#]+)", re.I
)


def normalise_format(text: str | None) -> str | None:
    """A short lower-case name (`csv`, `geojson`, `shp`...); an unknown format is kept lower-cased."""
    if not text:
        return None
    key = text.strip().lower()
    if match := MEDIA_TYPE_IRI.match(key):
        key = match.group("type")
    elif match := EU_FILE_TYPE_IRI.match(key):
        key = match.group("code").replace("_", " ")
    key = key.lstrip(".").split(";", 1)[0].strip()
    for protocol, name in GEONETWORK_PROTOCOLS:
        if key.startswith(protocol):
            return name
    if key in FORMATS:
        return FORMATS[key]
    # "Shapefile (zip)", "CSV LonLat/XY", "ESRI Shapefile (SHP)": the first word that is a format.
    known = next((FORMATS[w] for w in re.split(r"[^a-z0-9]+", key) if w in FORMATS), None)
    return known or key or None


# --- Themes -----------------------------------------------------------------------------------------

# Open Data France's 19 themes (its observatory's indicator 14, "principales thématiques").
THEMES = (
    "Administratif", "Agriculture", "Citoyenneté", "Culture", "Economie", "Education", "Energie", "Enfance",
    "Environnement", "Equipements", "Finance", "Santé", "Sécurité", "Social", "Sport", "Télécom", "Tourisme",
    "Transport", "Urbanisme",
)  # fmt: skip

# The EU data-theme authority table (DCAT-AP's themes), by code.
EU_DATA_THEMES = {
    "agri": ("Agriculture",),
    "econ": ("Economie",),
    "educ": ("Education", "Culture", "Sport"),
    "ener": ("Energie",),
    "envi": ("Environnement",),
    "gove": ("Administratif",),
    "heal": ("Santé",),
    "just": ("Sécurité",),
    "regi": ("Urbanisme",),
    "soci": ("Social",),
    "tran": ("Transport",),
}
# INSPIRE's 34 spatial data themes, by code (the ones with an ODF theme).
INSPIRE_THEMES = {
    "ad": ("Equipements",), "au": ("Administratif",), "cp": ("Urbanisme",), "tn": ("Transport",),
    "hy": ("Environnement",), "ps": ("Environnement",), "ge": ("Environnement",), "lc": ("Environnement",),
    "bu": ("Urbanisme",), "lu": ("Urbanisme",), "pd": ("Social",), "su": ("Administratif",),
    "hh": ("Santé",), "us": ("Equipements",), "ef": ("Environnement",), "pf": ("Economie",),
    "af": ("Agriculture",), "am": ("Urbanisme",), "nz": ("Environnement",), "ac": ("Environnement",),
    "mf": ("Environnement",), "of": ("Environnement",), "sr": ("Environnement",), "br": ("Environnement",),
    "hb": ("Environnement",), "sd": ("Environnement",), "er": ("Energie",), "mr": ("Environnement",),
    "so": ("Environnement",),
}  # fmt: skip
# INSPIRE's theme labels in French and English (the INSPIRE registry), read as their code: a label
# maps as its code does ("Usage des sols" is lu, Urbanisme, not the Environnement of "sol").
INSPIRE_LABEL_TEXTS = {
    "ad": ("Adresses", "Addresses"), "au": ("Unités administratives", "Administrative units"),
    "cp": ("Parcelles cadastrales", "Cadastral parcels"), "tn": ("Réseaux de transport", "Transport networks"),
    "hy": ("Hydrographie", "Hydrography"), "ps": ("Sites protégés", "Protected sites"),
    "ge": ("Géologie", "Geology"), "lc": ("Occupation des terres", "Land cover"),
    "bu": ("Bâtiments", "Buildings"), "lu": ("Usage des sols", "Land use"),
    "pd": ("Répartition de la population — démographie", "Population distribution — demography"),
    "su": ("Unités statistiques", "Statistical units"),
    "hh": ("Santé et sécurité des personnes", "Human health and safety"),
    "us": ("Services d'utilité publique et services publics", "Utility and governmental services"),
    "ef": ("Installations de suivi environnemental", "Environmental monitoring facilities"),
    "pf": ("Lieux de production et sites industriels", "Production and industrial facilities"),
    "af": ("Installations agricoles et aquacoles", "Agricultural and aquaculture facilities"),
    "am": ("Zones de gestion, de restriction ou de réglementation et unités de déclaration",
           "Area management/restriction/regulation zones and reporting units"),
    "nz": ("Zones à risque naturel", "Natural risk zones"),
    "ac": ("Conditions atmosphériques", "Atmospheric conditions"),
    "mf": ("Caractéristiques géographiques météorologiques", "Meteorological geographical features"),
    "of": ("Caractéristiques géographiques océanographiques", "Oceanographic geographical features"),
    "sr": ("Régions maritimes", "Sea regions"), "br": ("Régions biogéographiques", "Bio-geographical regions"),
    "hb": ("Habitats et biotopes", "Habitats and biotopes"), "sd": ("Répartition des espèces", "Species distribution"),
    "er": ("Sources d'énergie", "Energy resources"), "mr": ("Ressources minérales", "Mineral resources"),
    "so": ("Sols", "Soil"),
}  # fmt: skip
EU_DATA_THEME_IRI = re.compile(r"^https?://publications\.europa\.eu/resource/authority/data-theme/(?P<code>\w+)", re.I)
INSPIRE_THEME_IRI = re.compile(r"^https?://inspire\.ec\.europa\.eu/theme/(?P<code>[a-z]+)", re.I)

# Words of theme labels, without accents, lower case and singular (a final s or x dropped), read in
# French and English; multi-word keys match consecutive words. A label may name several themes
# ("Administration, Gouvernement, Finances publiques, Citoyenneté").
THEME_WORDS: dict[str, tuple[str, ...]] = {
    "Administratif": ("administration", "administratif", "administrative", "gouvernement", "government",
                      "secteur public", "marche public", "subvention", "budget", "compte", "collectivite"),
    "Agriculture": ("agriculture", "agricole", "peche", "sylviculture", "foret", "alimentation", "fishery",
                    "forestry", "food"),
    "Citoyenneté": ("citoyennete", "citoyen", "citizenship", "election", "electoral", "deliberation", "concertation",
                    "etat civil", "democratie", "participation"),
    "Culture": ("culture", "culturel", "patrimoine", "musee", "bibliotheque", "archive", "heritage"),
    "Economie": ("economie", "economique", "economy", "emploi", "entreprise", "business", "commerce",
                 "industrie", "pme"),
    "Education": ("education", "enseignement", "formation", "ecole", "scolaire", "recherche", "universite"),
    "Energie": ("energie", "energy", "electricite", "gaz"),
    "Enfance": ("enfance", "creche", "jeunesse", "petite enfance"),
    "Environnement": ("environnement", "environment", "environmental", "nature", "biodiversite", "eau",
                      "dechet", "climat", "air", "pollution", "risque", "meteorologie", "developpement durable",
                      "hydrographie", "geologie", "sol", "espece", "faune", "flore", "biotope",
                      "habitat et biotope", "site protege", "zone naturelle", "ocean", "littoral"),
    "Equipements": ("equipement", "borne", "adresse", "mobilier urbain", "affichage", "bal",
                    "service public"),
    "Finance": ("finance", "fiscalite", "impot", "taxe"),
    "Santé": ("sante", "health", "medical", "hopital"),
    "Sécurité": ("securite", "justice", "police", "criminalite", "prevention", "secours", "safety"),
    "Social": ("social", "sociale", "solidarite", "societe", "society", "population", "demographie",
               "action sociale", "handicap"),
    "Sport": ("sport", "loisir"),
    "Télécom": ("telecom", "telecommunication", "numerique", "internet", "fibre", "tres haut debit"),
    "Tourisme": ("tourisme", "touristique", "hebergement", "hotellerie", "tourism"),
    "Transport": ("transport", "transportation", "mobilite", "deplacement", "stationnement", "velo", "voirie",
                  "transit"),
    "Urbanisme": ("urbanisme", "amenagement", "plu", "cadastre", "logement", "habitat", "foncier",
                  "batiment", "territoire", "region et ville", "cartographie", "carte"),
}  # fmt: skip
assert set(THEME_WORDS) == set(THEMES)


def _words(text: str) -> list[str]:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return [w[:-1] if len(w) > 3 and w[-1] in "sx" else w for w in re.findall(r"[a-z0-9]+", plain)]


def _words_key(text: str) -> str:
    return " ".join(_words(text))


INSPIRE_LABELS = {_words_key(label): code for code, labels in INSPIRE_LABEL_TEXTS.items() for label in labels}

# The keys read as labels are ("business" is "busines" on both sides), longest first.
_THEME_KEYS = sorted(
    ((tuple(_words(word)), theme) for theme, words in THEME_WORDS.items() for word in words),
    key=lambda pair: -len(pair[0]),
)


@lru_cache(maxsize=8192)  # a catalogue repeats a few dozen labels thousands of times
def themes_of_label(label: str) -> tuple[str, ...]:
    """The ODF themes a theme label or IRI names, in the order of THEMES; () when none."""
    text = label.strip()
    if code := INSPIRE_LABELS.get(_words_key(text)):
        return INSPIRE_THEMES.get(code, ())
    if match := EU_DATA_THEME_IRI.match(text):
        return EU_DATA_THEMES.get(match.group("code").lower(), ())
    if match := INSPIRE_THEME_IRI.match(text):
        return INSPIRE_THEMES.get(match.group("code").lower(), ())
    words = _words(text.rsplit("/", 1)[-1] if text.startswith(("http://", "https://")) else text)
    found, used = set(), [False] * len(words)
    for key, theme in _THEME_KEYS:  # longest first: "habitat et biotope" takes its words from "habitat"
        n = len(key)
        for i in range(len(words) - n + 1):
            if tuple(words[i : i + n]) == key and not any(used[i : i + n]):
                found.add(theme)
                used[i : i + n] = [True] * n
    return tuple(t for t in THEMES if t in found)


def split_themes(labels: Iterable[str]) -> tuple[list[str], list[str]]:
    """(ODF themes, labels that name none): the second are kept as tags, so nothing said is lost."""
    themes: set[str] = set()
    unmatched: list[str] = []
    for label in labels:
        named = themes_of_label(label)
        themes.update(named)
        if not named and not label.startswith(("http://", "https://")):
            unmatched.append(label)
    return sorted(themes), unmatched
