"""ISO 19139 metadata records (`gmd:MD_Metadata`, as CSW catalogues answer them) read into the fields
a DatasetDiscovered takes (`Reader`): title, abstract, publisher (its `pointOfContact` or
`publisher` role), keywords and INSPIRE themes, licence from the use and access constraints, dates,
distributions. Pure; the CSW backend (csw.py) walks the pages and maps each record with it."""

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.etree.ElementTree import Element

from services.harvester.mapping import (
    first_open_licence,
    normalise_format,
    parse_date,
    resource,
)
from services.harvester.vocabularies import INSPIRE_THEME_IRI

GMD = "{http://www.isotc211.org/2005/gmd}"
GCO = "{http://www.isotc211.org/2005/gco}"
GMX = "{http://www.isotc211.org/2005/gmx}"
SRV = "{http://www.isotc211.org/2005/srv}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
PUBLISHER_ROLES = ("publisher", "owner", "custodian")  # first found wins, else the first party named
FRENCH = frozenset({"FR", "FRE", "FRA"})  # locale ids and ISO 639-2 codes that mean French
LIMITATIONS_ON_PUBLIC_ACCESS = "http://inspire.ec.europa.eu/metadata-codelist/LimitationsOnPublicAccess"
GEONETWORK_THESAURUS_KEY = re.compile(r"^geonetwork\.thesaurus\.[\w-]+\.[\w-]+\.")


@dataclass(frozen=True)
class Reader:
    """Reads the texts of one record, in French where it gives several languages."""

    french: frozenset[str]

    def text(self, prop: Element | None) -> str | None:
        """A character property: its French `PT_FreeText` value, else `gco:CharacterString`, else the
        `gmx:Anchor`'s (or another element's) text."""
        if prop is None:
            return None
        default = other = localised_first = None
        for child in prop:
            if child.tag == f"{GMD}PT_FreeText":
                for localised in child.iter(f"{GMD}LocalisedCharacterString"):
                    text = (localised.text or "").strip()
                    if text and localised.get("locale", "").lstrip("#").upper() in self.french:
                        return text
                    localised_first = localised_first or text or None
            elif child.tag == f"{GCO}CharacterString":
                default = default or (child.text or "").strip() or None
            else:  # gmx:Anchor, gmx:MimeFileType, gco:LocalName...
                other = other or (child.text or "").strip() or None
        return default or other or localised_first

    def publisher(self, identification: Element, record: Element) -> str | None:
        """The identification's point of contact with role publisher, else owner, else custodian,
        else the first named; else the same among the metadata's contacts."""
        for parties in (
            identification.findall(f"{GMD}pointOfContact/{GMD}CI_ResponsibleParty"),
            record.findall(f"{GMD}contact/{GMD}CI_ResponsibleParty"),
        ):
            named = [
                (code_of(party.find(f"{GMD}role/{GMD}CI_RoleCode")), name)
                for party in parties
                if (name := self.text(party.find(f"{GMD}organisationName")))
            ]
            for role in PUBLISHER_ROLES:
                if found := next((name for code, name in named if code == role), None):
                    return found
            if named:
                return named[0][1]
        return None

    def keywords(self, identification: Element) -> tuple[list[str], list[str]]:
        """(themes, tags): INSPIRE themes (by a thesaurus named so, or an INSPIRE theme anchor) as
        their anchor IRI, else their label; every other keyword as a tag."""
        themes: list[str] = []
        tags: list[str] = []
        for keywords in identification.iterfind(f"{GMD}descriptiveKeywords/{GMD}MD_Keywords"):
            inspire = self._is_inspire_thesaurus(keywords.find(f"{GMD}thesaurusName/{GMD}CI_Citation"))
            for keyword in keywords.iterfind(f"{GMD}keyword"):
                label, iri = self.text(keyword), href_of(keyword)
                if iri and INSPIRE_THEME_IRI.match(iri):
                    themes.append(iri)
                elif label:
                    (themes if inspire else tags).append(label)
        return themes, tags

    def _is_inspire_thesaurus(self, thesaurus: Element | None) -> bool:
        if thesaurus is None:
            return False
        title = thesaurus.find(f"{GMD}title")
        code = thesaurus.find(f"{GMD}identifier/{GMD}MD_Identifier/{GMD}code")
        key = GEONETWORK_THESAURUS_KEY.sub("", self.text(code) or "")  # "geonetwork.thesaurus.external.theme."
        names = plain(" ".join(t for t in (self.text(title), href_of(title), key, href_of(code)) if t))
        return "inspire" in names and "theme" in names

    def licence(self, identification: Element) -> str | None:
        """What the constraints say of the licence: legal `otherConstraints` (not those of an access
        restriction alone, nor INSPIRE's limitations on public access), then legal `useLimitation`,
        then other `useLimitation`; the first that is an open licence, else the first stated."""
        other_constraints: list[str] = []
        legal_use: list[str] = []
        other_use: list[str] = []
        for constraints in identification.iterfind(f"{GMD}resourceConstraints/*"):
            legal = constraints.tag == f"{GMD}MD_LegalConstraints"
            if legal and not (
                constraints.find(f"{GMD}accessConstraints") is not None
                and constraints.find(f"{GMD}useConstraints") is None
            ):
                for prop in constraints.iterfind(f"{GMD}otherConstraints"):
                    if not (href_of(prop) or "").startswith(LIMITATIONS_ON_PUBLIC_ACCESS):
                        other_constraints += self._statements(prop)
            for prop in constraints.iterfind(f"{GMD}useLimitation"):
                (legal_use if legal else other_use).extend(self._statements(prop))
        stated = [*other_constraints, *legal_use, *other_use]
        return first_open_licence(stated)

    def _statements(self, prop: Element) -> list[str]:
        return [s for s in (self.text(prop), href_of(prop)) if s]

    def resources(self, record: Element) -> list[dict[str, Any]]:
        """Every online resource of the distribution, once per URL and format: the format from the
        link's protocol (a GeoNetwork protocol), else the distribution's format when it names one only."""
        distribution = record.find(f"{GMD}distributionInfo")
        if distribution is None:
            return []
        names = {n for f in distribution.iter(f"{GMD}MD_Format") if (n := self.text(f.find(f"{GMD}name")))}
        only_format = next(iter(names)) if len(names) == 1 else None
        found: dict[tuple[str, str | None], dict[str, Any]] = {}
        for online in distribution.iter(f"{GMD}CI_OnlineResource"):
            protocol = self.text(online.find(f"{GMD}protocol"))
            fmt = protocol if normalise_format(protocol) else only_format
            item = resource(first_text(online.find(f"{GMD}linkage")), fmt)
            if item is not None:
                found.setdefault((item["url"], item["format"]), item)
        return list(found.values())


def identification_of(record: Element) -> Element | None:
    info = record.find(f"{GMD}identificationInfo")
    return next(iter(info), None) if info is not None else None


def is_service(record: Element) -> bool:
    level = code_of(record.find(f"{GMD}hierarchyLevel/{GMD}MD_ScopeCode"))
    identification = identification_of(record)
    return level == "service" or (identification is not None and identification.tag == f"{SRV}SV_ServiceIdentification")


def record_dates(citation: Element | None) -> tuple[str | None, str | None]:
    """(created, modified) from the citation's dates: creation (the earliest); revision (the latest),
    else publication (the latest)."""
    by_type: dict[str, list[tuple[datetime, str]]] = {}
    for date in citation.iterfind(f"{GMD}date/{GMD}CI_Date") if citation is not None else ():
        value = first_text(date.find(f"{GMD}date"))
        kind = code_of(date.find(f"{GMD}dateType/{GMD}CI_DateTypeCode"))
        if value and kind and (moment := parse_date(value)):
            by_type.setdefault(kind, []).append((moment, value))
    created = min(by_type.get("creation", ()), default=None)
    modified = max(by_type.get("revision", ()) or by_type.get("publication", ()), default=None)
    return (created[1] if created else None), (modified[1] if modified else None)


def french_locales(record: Element) -> frozenset[str]:
    """The ids of the record's French locales (`gmd:locale/gmd:PT_Locale`), and the usual ones."""
    ids = set(FRENCH)
    for locale in record.iterfind(f"{GMD}locale/{GMD}PT_Locale"):
        if (code_of(locale.find(f"{GMD}languageCode/{GMD}LanguageCode")) or "").upper() in FRENCH:
            ids.add(locale.get("id", "").upper())
    return frozenset(ids)


def first_text(prop: Element | None) -> str | None:
    """The text a property holds, in whatever element (CharacterString, Anchor, Date, URL...)."""
    if prop is None:
        return None
    for child in prop:
        if text := (child.text or "").strip():
            return text
    return (prop.text or "").strip() or None


def href_of(prop: Element | None) -> str | None:
    """The `xlink:href` of the property's `gmx:Anchor` (or of the property itself)."""
    if prop is None:
        return None
    anchor = prop.find(f"{GMX}Anchor")
    href = (anchor if anchor is not None else prop).get(XLINK_HREF)
    return href.strip() or None if href else None


def code_of(element: Element | None) -> str | None:
    """A code list value: `codeListValue`, else the element's text."""
    if element is None:
        return None
    return (element.get("codeListValue") or element.text or "").strip() or None


def plain(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
