"""GeoNetwork's CSW 2.0.2 (3.x and 4.x) at `/csw/<slug>/geonetwork/srv/fre/csw`, by HTTP GET with KVP.

Answers are written as GeoNetwork writes them (udata's real test files, `geonetwork-iso19139-page-*.xml`,
are the model): `csw:GetRecordsResponse` > `csw:SearchStatus` + `csw:SearchResults
numberOfRecordsMatched numberOfRecordsReturned elementSet nextRecord`, each record a
`gmd:MD_Metadata` declaring its own namespaces (gmd, gco, gmx, xlink, geonet); `nextRecord` is 0
after the last record; a `startPosition` past the end gives an empty page. Records follow the
French INSPIRE guide (CNIG): the publisher among the identification's points of contact, INSPIRE
themes from the GEMET thesaurus (as `gmx:Anchor` or, in older records, as plain labels), an access
constraint without limitation then the licence in `otherConstraints`, downloads with GeoNetwork's
`WWW:DOWNLOAD-1.0-http--download` protocol and the distribution's formats, a WMS link for some.
Some records are multilingual: English by default, French in `PT_FreeText`.

Errors come as an `ows:ExceptionReport` with HTTP 200, as GeoNetwork sends them (quirk
`ows_exception_every`); `overcounted` makes `numberOfRecordsMatched` count records the server then
cannot list (the last page comes back empty). `GetCapabilities` answers too (family detection reads it).
"""

from datetime import UTC, datetime
from xml.sax.saxutils import escape

from aiohttp import web

from simulated_portals.catalogue import PortalSpec, SimDataset, World, dataset
from simulated_portals.quirks import every, portal_of, with_quirks

ENDPOINT = "/geonetwork/srv/fre/csw"
CODE_LISTS = "http://standards.iso.org/iso/19139/resources/gmxCodelists.xml"
RECORD_NAMESPACES = (
    'xmlns:gmd="http://www.isotc211.org/2005/gmd" xmlns:gco="http://www.isotc211.org/2005/gco" '
    'xmlns:gmx="http://www.isotc211.org/2005/gmx" xmlns:xlink="http://www.w3.org/1999/xlink" '
    'xmlns:geonet="http://www.fao.org/geonetwork" '
    'xsi:schemaLocation="http://www.isotc211.org/2005/gmd http://schemas.opengis.net/csw/2.0.2/profiles/apiso/1.0.0/apiso.xsd"'
)
# The simulated themes as INSPIRE themes (code, French label), where one fits.
INSPIRE = {
    "Transports": ("tn", "Réseaux de transport"),
    "Environnement": ("hb", "Habitats et biotopes"),
    "Urbanisme": ("lu", "Usage des sols"),
    "Santé": ("hh", "Santé et sécurité des personnes"),
    "Citoyenneté": ("au", "Unités administratives"),
    "Éducation": ("us", "Services d'utilité publique et services publics"),
}
ENGLISH = {
    "Horaires des bus": "Bus timetables", "Qualité de l'air": "Air quality", "Plan local d'urbanisme": "Local plan",
    "Équipements sportifs": "Sports facilities", "Budget primitif": "Budget",
    "Délibérations du conseil": "Council minutes",
    "Défibrillateurs": "Defibrillators", "Marchés publics": "Public procurement", "Arrêts de transport": "Stops",
    "Bornes de recharge": "Charging points", "Menus des cantines": "School menus", "Adresses": "Addresses",
    "Subventions aux associations": "Grants", "Prénoms des nouveau-nés": "Baby names", "Parkings": "Car parks",
    "Arbres d'alignement": "Street trees", "Pistes cyclables": "Cycle lanes", "Bureaux de vote": "Polling stations",
    "Toilettes publiques": "Public toilets", "Consommation d'énergie": "Energy consumption",
}  # fmt: skip
ETALAB = "https://www.etalab.gouv.fr/licence-ouverte-open-licence"
GEMET = "GEMET - INSPIRE themes, version 1.0"
ROLES = ("publisher", "owner", "custodian")


def routes(world: World) -> list[web.RouteDef]:
    async def csw(request: web.Request) -> web.Response:
        portal = portal_of(request, world)
        query = {key.lower(): value for key, value in request.query.items()}
        if query.get("service", "").upper() != "CSW":
            return exception("MissingParameterValue", "service", "Mandatory parameter <service> was not specified")
        operation = query.get("request", "")
        if operation.lower() == "getcapabilities":
            return xml(capabilities(portal, f"{request.url.origin()}{portal.path}{ENDPOINT}"))
        if operation.lower() != "getrecords":
            return exception("OperationNotSupported", "request", f"Operation not supported : {operation}")
        if every(portal.quirks.ows_exception_every, world.request_counts.get(portal.path, 0)):
            return exception(
                "NoApplicableCode", None, "Raised exception while searching metadata : java.lang.NullPointerException"
            )
        try:
            start = int(query.get("startposition", "1"))
            asked = int(query.get("maxrecords", "10"))
        except ValueError:
            return exception("InvalidParameterValue", "startPosition", "startPosition and maxRecords must be integers")
        if start < 1 or asked < 0:
            return exception("InvalidParameterValue", "startPosition", f"Invalid startPosition: {start}")
        base = f"{request.url.origin()}{portal.path}"
        return xml(get_records(portal, start, min(asked, portal.page_size), base))

    return [web.get("/{family:csw}/{slug}" + ENDPOINT, with_quirks(world, csw))]


def xml(body: str) -> web.Response:
    return web.Response(text=body, content_type="application/xml", charset="utf-8")


def exception(code: str, locator: str | None, text: str) -> web.Response:
    """GeoNetwork's `CatalogException.marshal`, with HTTP 200 as GeoNetwork answers it."""
    where = f' locator="{escape(locator)}"' if locator else ""
    return xml(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.2.0" '
        'xsi:schemaLocation="http://www.opengis.net/ows http://schemas.opengis.net/ows/1.0.0/owsExceptionReport.xsd">\n'
        f'  <ows:Exception exceptionCode="{code}"{where}>\n'
        f"    <ows:ExceptionText>{escape(text)}</ows:ExceptionText>\n"
        "  </ows:Exception>\n"
        "</ows:ExceptionReport>\n"
    )


def get_records(portal: PortalSpec, start: int, page_size: int, base: str) -> str:
    matched = portal.size + portal.quirks.overcounted
    first = 0 if portal.quirks.repeat_forever else start - 1
    indices = range(first, min(first + page_size, portal.size)) if first < portal.size else range(0)
    following = start + len(indices)
    next_record = following if indices and (following <= matched or portal.quirks.repeat_forever) else 0
    records = "".join(record(dataset(portal, i), base) for i in indices)
    timestamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<csw:GetRecordsResponse xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.opengis.net/cat/csw/2.0.2 http://schemas.opengis.net/csw/2.0.2/CSW-discovery.xsd">\n'
        f'  <csw:SearchStatus timestamp="{timestamp}" />\n'
        f'  <csw:SearchResults numberOfRecordsMatched="{matched}" numberOfRecordsReturned="{len(indices)}" '
        f'elementSet="full" nextRecord="{next_record}">\n{records}'
        "  </csw:SearchResults>\n"
        "</csw:GetRecordsResponse>\n"
    )


def _t(text: str) -> str:
    return f"<gco:CharacterString>{escape(text)}</gco:CharacterString>"


def _code(element: str, value: str, text: bool = True) -> str:
    content = value if text else ""
    return f'<gmd:{element} codeList="{CODE_LISTS}#{element}" codeListValue="{value}">{content}</gmd:{element}>'


def _date(when: datetime, kind: str) -> str:
    return (
        f"<gmd:date><gmd:CI_Date><gmd:date><gco:DateTime>{when.strftime('%Y-%m-%dT%H:%M:%S')}</gco:DateTime></gmd:date>"
        f"<gmd:dateType>{_code('CI_DateTypeCode', kind)}</gmd:dateType></gmd:CI_Date></gmd:date>"
    )


def _party(name: str, role: str, email: str) -> str:
    return (
        f"<gmd:CI_ResponsibleParty><gmd:organisationName>{_t(name)}</gmd:organisationName>"
        "<gmd:contactInfo><gmd:CI_Contact><gmd:address><gmd:CI_Address>"
        f"<gmd:electronicMailAddress>{_t(email)}</gmd:electronicMailAddress>"
        "</gmd:CI_Address></gmd:address></gmd:CI_Contact></gmd:contactInfo>"
        f"<gmd:role>{_code('CI_RoleCode', role)}</gmd:role></gmd:CI_ResponsibleParty>"
    )


def record(d: SimDataset, base: str) -> str:
    """One dataset as GeoNetwork writes it in ISO 19139."""
    multilingual = d.index % 5 == 2  # English by default, French in PT_FreeText
    subject = next((s for s in ENGLISH if d.title.startswith(s)), "")
    if multilingual and d.title:
        title = (
            f'<gmd:title xsi:type="gmd:PT_FreeText_PropertyType">{_t(ENGLISH[subject] if subject else d.title)}'
            "<gmd:PT_FreeText><gmd:textGroup>"
            f'<gmd:LocalisedCharacterString locale="#FR">{escape(d.title)}</gmd:LocalisedCharacterString>'
            "</gmd:textGroup></gmd:PT_FreeText></gmd:title>"
        )
    else:
        title = f"<gmd:title>{_t(d.title)}</gmd:title>"
    email = f"sig@{d.portal.domain}"
    publisher = d.publisher.name
    locale = (
        '<gmd:locale><gmd:PT_Locale id="FR"><gmd:languageCode><gmd:LanguageCode codeList="http://www.loc.gov/standards/'
        'iso639-2/" codeListValue="fre" /></gmd:languageCode><gmd:characterEncoding>'
        f"{_code('MD_CharacterSetCode', 'utf8', text=False)}</gmd:characterEncoding></gmd:PT_Locale></gmd:locale>"
        if multilingual
        else ""
    )
    return (
        f"    <gmd:MD_Metadata {RECORD_NAMESPACES}>"
        f"<gmd:fileIdentifier>{_t(d.id)}</gmd:fileIdentifier>"
        '<gmd:language><gmd:LanguageCode codeList="http://www.loc.gov/standards/iso639-2/" '
        f'codeListValue="{"eng" if multilingual else "fre"}">{"eng" if multilingual else "fre"}</gmd:LanguageCode>'
        "</gmd:language>"
        f"<gmd:characterSet>{_code('MD_CharacterSetCode', 'utf8')}</gmd:characterSet>"
        f"<gmd:hierarchyLevel>{_code('MD_ScopeCode', 'dataset')}</gmd:hierarchyLevel>"
        f"<gmd:contact>{_party(publisher, 'pointOfContact', email)}</gmd:contact>"
        f"<gmd:dateStamp><gco:DateTime>{d.modified.strftime('%Y-%m-%dT%H:%M:%S')}</gco:DateTime></gmd:dateStamp>"
        f"<gmd:metadataStandardName>{_t('ISO 19115:2003/19139')}</gmd:metadataStandardName>"
        f"<gmd:metadataStandardVersion>{_t('1.0')}</gmd:metadataStandardVersion>{locale}"
        "<gmd:identificationInfo><gmd:MD_DataIdentification>"
        f"<gmd:citation><gmd:CI_Citation>{title}{_date(d.created, 'creation')}{_date(d.modified, 'revision')}"
        f"<gmd:identifier><gmd:RS_Identifier><gmd:code>{_t(d.id)}</gmd:code>"
        f"<gmd:codeSpace>{_t(f'https://{d.portal.domain}')}</gmd:codeSpace></gmd:RS_Identifier></gmd:identifier>"
        "</gmd:CI_Citation></gmd:citation>"
        f"<gmd:abstract>{_t(d.description)}</gmd:abstract>"
        f"<gmd:status>{_code('MD_ProgressCode', 'onGoing')}</gmd:status>"
        f"<gmd:pointOfContact>{_party(f'Service SIG - {d.portal.domain}', 'pointOfContact', email)}"
        "</gmd:pointOfContact>"
        f"<gmd:pointOfContact>{_party(publisher, ROLES[d.index % len(ROLES)], email)}</gmd:pointOfContact>"
        f"{_keywords(d)}{_constraints(d)}"
        '<gmd:language><gmd:LanguageCode codeList="http://www.loc.gov/standards/iso639-2/" codeListValue="fre">fre'
        "</gmd:LanguageCode></gmd:language>"
        "<gmd:topicCategory><gmd:MD_TopicCategoryCode>planningCadastre</gmd:MD_TopicCategoryCode></gmd:topicCategory>"
        "</gmd:MD_DataIdentification></gmd:identificationInfo>"
        f"{_distribution(d)}"
        "</gmd:MD_Metadata>\n"
    )


def _keywords(d: SimDataset) -> str:
    free = "".join(f"<gmd:keyword>{_t(tag)}</gmd:keyword>" for tag in d.tags)
    out = f"<gmd:descriptiveKeywords><gmd:MD_Keywords>{free}<gmd:type>{_code('MD_KeywordTypeCode', 'theme')}</gmd:type>"
    out += "</gmd:MD_Keywords></gmd:descriptiveKeywords>"
    inspire = [INSPIRE[t] for t in d.themes if t in INSPIRE]
    if inspire:
        # GeoNetwork 4 writes anchors; records from GeoNetwork 3 often carry the label only.
        anchors = d.index % 2 == 0
        thesaurus = (
            f'<gmx:Anchor xlink:href="http://inspire.ec.europa.eu/theme">{GEMET}</gmx:Anchor>' if anchors else _t(GEMET)
        )
        words = "".join(
            f'<gmd:keyword><gmx:Anchor xlink:href="http://inspire.ec.europa.eu/theme/{code}">{escape(label)}</gmx:Anchor>'
            "</gmd:keyword>"
            if anchors
            else f"<gmd:keyword>{_t(label)}</gmd:keyword>"
            for code, label in inspire
        )
        out += (
            f"<gmd:descriptiveKeywords><gmd:MD_Keywords>{words}"
            f"<gmd:type>{_code('MD_KeywordTypeCode', 'theme')}</gmd:type>"
            f"<gmd:thesaurusName><gmd:CI_Citation><gmd:title>{thesaurus}</gmd:title>"
            "<gmd:date><gmd:CI_Date><gmd:date><gco:Date>2008-06-01</gco:Date></gmd:date>"
            f"<gmd:dateType>{_code('CI_DateTypeCode', 'publication')}</gmd:dateType></gmd:CI_Date></gmd:date>"
            "</gmd:CI_Citation></gmd:thesaurusName></gmd:MD_Keywords></gmd:descriptiveKeywords>"
        )
    elif d.themes:
        out += (
            f"<gmd:descriptiveKeywords><gmd:MD_Keywords><gmd:keyword>{_t(d.themes[0])}</gmd:keyword>"
            f"<gmd:type>{_code('MD_KeywordTypeCode', 'theme')}</gmd:type></gmd:MD_Keywords></gmd:descriptiveKeywords>"
        )
    return out


def _constraints(d: SimDataset) -> str:
    access = (
        "<gmd:resourceConstraints><gmd:MD_LegalConstraints>"
        f"<gmd:accessConstraints>{_code('MD_RestrictionCode', 'otherRestrictions')}</gmd:accessConstraints>"
        '<gmd:otherConstraints><gmx:Anchor xlink:href="http://inspire.ec.europa.eu/metadata-codelist/'
        "LimitationsOnPublicAccess/noLimitations\">Pas de restriction d'accès public selon INSPIRE</gmx:Anchor>"
        "</gmd:otherConstraints></gmd:MD_LegalConstraints></gmd:resourceConstraints>"
    )
    if not d.licence:
        return access
    statement = (
        f'<gmx:Anchor xlink:href="{ETALAB}">Licence Ouverte version 2.0</gmx:Anchor>'
        if d.licence in ("fr-lo", "lov2")
        else _t(d.licence)
    )
    return (
        f"{access}<gmd:resourceConstraints><gmd:MD_LegalConstraints>"
        f"<gmd:useConstraints>{_code('MD_RestrictionCode', 'otherRestrictions')}</gmd:useConstraints>"
        f"<gmd:otherConstraints>{statement}</gmd:otherConstraints>"
        "</gmd:MD_LegalConstraints></gmd:resourceConstraints>"
    )


def _distribution(d: SimDataset) -> str:
    formats = "".join(
        f"<gmd:distributionFormat><gmd:MD_Format><gmd:name>{_t(fmt)}</gmd:name>"
        '<gmd:version gco:nilReason="unknown" /></gmd:MD_Format></gmd:distributionFormat>'
        for fmt in dict.fromkeys(f for _, f, _ in d.resources if f)
    )
    links = "".join(
        "<gmd:onLine><gmd:CI_OnlineResource>"
        f"<gmd:linkage><gmd:URL>{escape(url)}</gmd:URL></gmd:linkage>"
        f"<gmd:protocol>{_t('WWW:DOWNLOAD-1.0-http--download')}</gmd:protocol>"
        f"<gmd:name>{_t(url.rsplit('/', 1)[-1])}</gmd:name>"
        f"<gmd:function>{_code('CI_OnLineFunctionCode', 'download', text=False)}</gmd:function>"
        "</gmd:CI_OnlineResource></gmd:onLine>"
        for url, _, _ in d.resources
    )
    if d.index % 3 == 0:
        links += (
            "<gmd:onLine><gmd:CI_OnlineResource><gmd:linkage><gmd:URL>"
            f"{escape(f'https://{d.portal.domain}/geoserver/ows?SERVICE=WMS&REQUEST=GetCapabilities')}</gmd:URL>"
            f"</gmd:linkage><gmd:protocol>{_t('OGC:WMS')}</gmd:protocol>"
            f"<gmd:name>{_t(f'jdd_{d.index}')}</gmd:name></gmd:CI_OnlineResource></gmd:onLine>"
        )
    return (
        f"<gmd:distributionInfo><gmd:MD_Distribution>{formats}"
        f"<gmd:transferOptions><gmd:MD_DigitalTransferOptions>{links}</gmd:MD_DigitalTransferOptions>"
        "</gmd:transferOptions></gmd:MD_Distribution></gmd:distributionInfo>"
    )


def capabilities(portal: PortalSpec, endpoint: str) -> str:
    """A GeoNetwork GetCapabilities answer, reduced to what clients read."""
    href = escape(endpoint)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<csw:Capabilities xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" xmlns:ows="http://www.opengis.net/ows" '
        'xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'version="2.0.2" xsi:schemaLocation="http://www.opengis.net/cat/csw/2.0.2 '
        'http://schemas.opengis.net/csw/2.0.2/CSW-discovery.xsd">\n'
        "  <ows:ServiceIdentification>\n"
        f"    <ows:Title>Géocatalogue {escape(portal.slug)}</ows:Title>\n"
        "    <ows:ServiceType>CSW</ows:ServiceType>\n"
        "    <ows:ServiceTypeVersion>2.0.2</ows:ServiceTypeVersion>\n"
        "  </ows:ServiceIdentification>\n"
        "  <ows:OperationsMetadata>\n"
        '    <ows:Operation name="GetRecords">\n'
        f'      <ows:DCP><ows:HTTP><ows:Get xlink:href="{href}" />'
        f'<ows:Post xlink:href="{href}" /></ows:HTTP></ows:DCP>\n'
        '      <ows:Parameter name="outputSchema"><ows:Value>http://www.opengis.net/cat/csw/2.0.2</ows:Value>'
        "<ows:Value>http://www.isotc211.org/2005/gmd</ows:Value></ows:Parameter>\n"
        "    </ows:Operation>\n"
        "  </ows:OperationsMetadata>\n"
        "</csw:Capabilities>\n"
    )
