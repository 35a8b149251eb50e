"""The CSW backend on the shapes real geocatalogues answer, the records excerpted from the files of
tests/data/real/csw/ (Géo-IDE's GeoNetwork pages, the Géoplateforme, the INSPIRE Geoportal), served
from memory."""

from typing import Any

import pytest

from services.harvester.backends.base import HarvestAborted, HarvestItem, RunContext
from services.harvester.backends.csw import CswBackend
from services.harvester.repository import Source
from tests.support.fetchers import MemoryFetcher

ENDPOINT = "https://geo.test/geonetwork/srv/fre/csw"
GET_RECORDS = (
    "?service=CSW&version=2.0.2&request=GetRecords&typeNames=csw:Record&resultType=results&elementSetName=full"
    "&outputSchema=http://www.isotc211.org/2005/gmd"
)
NAMESPACES = (
    'xmlns:gmd="http://www.isotc211.org/2005/gmd" xmlns:gco="http://www.isotc211.org/2005/gco" '
    'xmlns:gmx="http://www.isotc211.org/2005/gmx" xmlns:xlink="http://www.w3.org/1999/xlink" '
    'xmlns:srv="http://www.isotc211.org/2005/srv"'
)


def page_url(start: int, endpoint: str = ENDPOINT) -> str:
    return f"{endpoint}{GET_RECORDS}&startPosition={start}&maxRecords=50"


def response(records: str, matched: int, returned: int, next_record: int) -> str:
    """A GetRecords answer as GeoNetwork writes it (udata's geonetwork-iso19139-page-1.xml)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<csw:GetRecordsResponse
  xmlns:csw="http://www.opengis.net/cat/csw/2.0.2"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.opengis.net/cat/csw/2.0.2 http://schemas.opengis.net/csw/2.0.2/CSW-discovery.xsd">
  <csw:SearchStatus timestamp="2024-03-19T08:13:39.499304Z" />
  <csw:SearchResults numberOfRecordsMatched="{matched}" numberOfRecordsReturned="{returned}" elementSet="full"
      nextRecord="{next_record}">
{records}
  </csw:SearchResults>
</csw:GetRecordsResponse>"""


def record(identifier: str, identification: str = "", extra: str = "", level: str = "dataset") -> str:
    identification = (
        identification
        or f"""
        <gmd:citation><gmd:CI_Citation>
          <gmd:title><gco:CharacterString>Plan local d'urbanisme {identifier}</gco:CharacterString></gmd:title>
        </gmd:CI_Citation></gmd:citation>"""
    )
    return f"""
    <gmd:MD_Metadata {NAMESPACES}>
      <gmd:fileIdentifier><gco:CharacterString>{identifier}</gco:CharacterString></gmd:fileIdentifier>
      <gmd:hierarchyLevel>
        <gmd:MD_ScopeCode codeListValue="{level}" codeList="x">{level}</gmd:MD_ScopeCode>
      </gmd:hierarchyLevel>
      <gmd:contact><gmd:CI_ResponsibleParty>
        <gmd:organisationName><gco:CharacterString>DDTM 80</gco:CharacterString></gmd:organisationName>
        <gmd:role><gmd:CI_RoleCode codeListValue="pointOfContact" codeList="x" /></gmd:role>
      </gmd:CI_ResponsibleParty></gmd:contact>
      <gmd:dateStamp><gco:DateTime>2019-03-25T22:55:41.312+01:00</gco:DateTime></gmd:dateStamp>
      {extra}
      <gmd:identificationInfo><gmd:MD_DataIdentification>{identification}
      </gmd:MD_DataIdentification></gmd:identificationInfo>
    </gmd:MD_Metadata>"""


async def harvest(documents: dict[str, str], url: str = ENDPOINT) -> tuple[list[HarvestItem], MemoryFetcher]:
    fetcher = MemoryFetcher(documents)
    source = Source(id="s", url=url, family="csw", name="Géocatalogue")
    backend = CswBackend(fetcher, source, RunContext(run_id="r", mode="full"))
    return [item async for item in backend.items()], fetcher


def events(items: list[HarvestItem]) -> dict[str, Any]:
    return {item.remote_id: item.event for item in items if item.event is not None}


async def test_pages_follow_next_record_until_zero_with_the_parameters_in_a_fixed_order():
    # As udata's three Géo-IDE pages chain: 6 matched, 2 a page, nextRecord 3, 5, then 0.
    documents = {
        page_url(1): response(record("a") + record("b"), matched=6, returned=2, next_record=3),
        page_url(3): response(record("c") + record("d"), matched=6, returned=2, next_record=5),
        page_url(5): response(record("e") + record("f"), matched=6, returned=2, next_record=0),
    }
    items, fetcher = await harvest(documents)
    assert list(events(items)) == ["a", "b", "c", "d", "e", "f"]
    assert fetcher.asked == [page_url(1), page_url(3), page_url(5)]


@pytest.mark.parametrize(
    "last_page",
    [
        response(record("c"), matched=3, returned=1, next_record=4),  # nextRecord beyond the records matched
        response("", matched=5, returned=0, next_record=0),  # an empty page (a count the server cannot list)
    ],
)
async def test_a_next_record_beyond_the_count_or_an_empty_page_ends_the_walk(last_page):
    documents = {
        page_url(1): response(record("a") + record("b"), matched=3, returned=2, next_record=3),
        page_url(3): last_page,
    }
    items, fetcher = await harvest(documents)
    assert len(fetcher.asked) == 2 and all(item.error is None for item in items)


async def test_an_empty_catalogue_is_done_with_no_dataset():
    items, _ = await harvest({page_url(1): response("", matched=0, returned=0, next_record=0)})
    assert items == []


async def test_an_exception_report_with_http_200_stops_the_run_with_its_code_and_text():
    # GeoNetwork answers its errors with HTTP 200 (CatalogException.marshal).
    report = """<?xml version="1.0" encoding="UTF-8"?>
<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows" version="1.2.0">
  <ows:Exception exceptionCode="NoApplicableCode">
    <ows:ExceptionText>Raised exception while searching metadata : java.lang.NullPointerException</ows:ExceptionText>
  </ows:Exception>
</ows:ExceptionReport>"""
    documents = {
        page_url(1): response(record("a"), matched=2, returned=1, next_record=2),
        page_url(2): report,
    }
    source = Source(id="s", url=ENDPOINT, family="csw", name="x")
    backend = CswBackend(MemoryFetcher(documents), source, RunContext(run_id="r", mode="full"))
    seen = []
    with pytest.raises(HarvestAborted) as stopped:
        async for item in backend.items():
            seen.append(item.remote_id)
    assert seen == ["a"]  # what came before stays valid: the run is partial
    assert "CSW exception NoApplicableCode" in str(stopped.value)
    assert "Raised exception while searching metadata : java.lang.NullPointerException" in str(stopped.value)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("<html><body>Service Unavailable", "not XML"),
        (
            response('<csw:Record xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier>x</dc:identifier></csw:Record>',
                     matched=1, returned=1, next_record=0),
            "no ISO 19139 record",
        ),
        ('<csw:Capabilities xmlns:csw="http://www.opengis.net/cat/csw/2.0.2"/>', "no csw:SearchResults"),
        (response(record("a"), matched=9, returned=1, next_record=1), "already read"),
    ],
)  # fmt: skip
async def test_answers_that_are_no_page_of_iso_records_stop_the_run_and_say_why(body, reason):
    with pytest.raises(HarvestAborted, match=reason):
        await harvest({page_url(1): body})


async def test_a_next_record_that_goes_back_stops_the_run():
    documents = {
        page_url(1): response(record("a"), matched=9, returned=1, next_record=5),
        page_url(5): response(record("b"), matched=9, returned=1, next_record=2),
    }
    with pytest.raises(HarvestAborted, match="goes back"):
        await harvest(documents)


async def test_a_record_that_cannot_be_mapped_is_an_item_error_with_its_file_identifier():
    untitled = record("untitled", "<gmd:abstract><gco:CharacterString>x</gco:CharacterString></gmd:abstract>")
    without_identification = f"""
    <gmd:MD_Metadata {NAMESPACES}>
      <gmd:fileIdentifier><gco:CharacterString>bare</gco:CharacterString></gmd:fileIdentifier>
    </gmd:MD_Metadata>"""
    without_identifier = record("")  # an empty gmd:fileIdentifier
    body = response(record("a") + untitled + without_identification + without_identifier + record("b"), 5, 5, 0)
    items, _ = await harvest({page_url(1): body})
    assert set(events(items)) == {"a", "b"}
    errors = {item.remote_id: item.error for item in items if item.error}
    assert errors[None] == "dataset without an identifier"
    assert "without a title" in (errors["untitled"] or "")
    assert "identificationInfo" in (errors["bare"] or "")


async def test_services_are_no_datasets_and_are_skipped():
    service = record("wms", level="service").replace("gmd:MD_DataIdentification", "srv:SV_ServiceIdentification")
    body = response(record("a") + service, matched=2, returned=2, next_record=0)
    items, _ = await harvest({page_url(1): body})
    assert [item.remote_id for item in items] == ["a"]


# From the INSPIRE Geoportal's GeoNetwork 4 answer (inspire-geoportal-getrecords.xml): texts in four
# languages, the metadata's own in English, French declared by gmd:locale.
MULTILINGUAL = record(
    "8dad9c98",
    extra="""
      <gmd:locale><gmd:PT_Locale id="FR"><gmd:languageCode>
        <gmd:LanguageCode codeList="http://www.loc.gov/standards/iso639-2/" codeListValue="fre" />
      </gmd:languageCode></gmd:PT_Locale></gmd:locale>""",
    identification="""
      <gmd:citation><gmd:CI_Citation>
        <gmd:title xsi:type="gmd:PT_FreeText_PropertyType" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
          <gco:CharacterString>Solar UV network stations</gco:CharacterString>
          <gmd:PT_FreeText>
            <gmd:textGroup>
              <gmd:LocalisedCharacterString locale="#EN">Solar UV network stations</gmd:LocalisedCharacterString>
            </gmd:textGroup>
            <gmd:textGroup>
              <gmd:LocalisedCharacterString locale="#FR">Stations du réseau UV solaire</gmd:LocalisedCharacterString>
            </gmd:textGroup>
            <gmd:textGroup>
              <gmd:LocalisedCharacterString locale="#NL">Stations van het UV-netwerk</gmd:LocalisedCharacterString>
            </gmd:textGroup>
          </gmd:PT_FreeText>
        </gmd:title>
      </gmd:CI_Citation></gmd:citation>
      <gmd:pointOfContact><gmd:CI_ResponsibleParty>
        <gmd:organisationName xsi:type="gmd:PT_FreeText_PropertyType" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
          <gco:CharacterString>National Geographic Institute</gco:CharacterString>
          <gmd:PT_FreeText>
            <gmd:textGroup>
              <gmd:LocalisedCharacterString locale="#EN">National Geographic Institute</gmd:LocalisedCharacterString>
            </gmd:textGroup>
            <gmd:textGroup>
              <gmd:LocalisedCharacterString locale="#FR">Institut géographique national</gmd:LocalisedCharacterString>
            </gmd:textGroup>
          </gmd:PT_FreeText>
        </gmd:organisationName>
        <gmd:role><gmd:CI_RoleCode codeList="x" codeListValue="custodian" /></gmd:role>
      </gmd:CI_ResponsibleParty></gmd:pointOfContact>
      <gmd:descriptiveKeywords><gmd:MD_Keywords>
        <gmd:keyword>
          <gmx:Anchor xlink:href="http://vocab.belgif.be/auth/datatheme/TECH">Science and technology</gmx:Anchor>
          <gmd:PT_FreeText><gmd:textGroup>
            <gmd:LocalisedCharacterString locale="#FR">Science et technologie</gmd:LocalisedCharacterString>
          </gmd:textGroup></gmd:PT_FreeText>
        </gmd:keyword>
      </gmd:MD_Keywords></gmd:descriptiveKeywords>""",
)


async def test_texts_in_several_languages_are_read_in_french():
    event = events((await harvest({page_url(1): response(MULTILINGUAL, 1, 1, 0)}))[0])["8dad9c98"]
    assert event.title == "Stations du réseau UV solaire"
    assert event.publisher.name == "Institut géographique national"  # the custodian, named in French
    assert event.tags == ["Science et technologie"]


# Keywords as GeoNetwork 3 (labels in the GEMET thesaurus, Géo-IDE) and GeoNetwork 4 (anchors, the
# Géoplateforme; the INSPIRE Geoportal's thesaurus key) write them.
KEYWORDS = """
      <gmd:citation><gmd:CI_Citation>
        <gmd:title><gco:CharacterString>RPG</gco:CharacterString></gmd:title>
      </gmd:CI_Citation></gmd:citation>
      <gmd:descriptiveKeywords><gmd:MD_Keywords>
        <gmd:keyword><gco:CharacterString>Réseaux de transport</gco:CharacterString></gmd:keyword>
        <gmd:thesaurusName><gmd:CI_Citation>
          <gmd:title><gco:CharacterString>GEMET - INSPIRE themes, version 1.0</gco:CharacterString></gmd:title>
        </gmd:CI_Citation></gmd:thesaurusName>
      </gmd:MD_Keywords></gmd:descriptiveKeywords>
      <gmd:descriptiveKeywords><gmd:MD_Keywords>
        <gmd:keyword><gmx:Anchor xlink:href="http://inspire.ec.europa.eu/theme/lc">Land cover</gmx:Anchor></gmd:keyword>
        <gmd:keyword><gco:CharacterString>Installations agricoles et aquacoles</gco:CharacterString></gmd:keyword>
        <gmd:thesaurusName><gmd:CI_Citation>
          <gmd:title><gmx:Anchor xlink:href="http://inspire.ec.europa.eu/theme">Themes</gmx:Anchor></gmd:title>
        </gmd:CI_Citation></gmd:thesaurusName>
      </gmd:MD_Keywords></gmd:descriptiveKeywords>
      <gmd:descriptiveKeywords><gmd:MD_Keywords>
        <gmd:keyword><gmx:Anchor xlink:href="http://inspire.ec.europa.eu/theme/tn">Transports</gmx:Anchor></gmd:keyword>
      </gmd:MD_Keywords></gmd:descriptiveKeywords>
      <gmd:descriptiveKeywords><gmd:MD_Keywords>
        <gmd:keyword><gmx:Anchor xlink:href="http://inspire.ec.europa.eu/metadata-codelist/SpatialScope/national">National</gmx:Anchor></gmd:keyword>
        <gmd:thesaurusName><gmd:CI_Citation>
          <gmd:title>
            <gmx:Anchor xlink:href="http://inspire.ec.europa.eu/metadata-codelist/SpatialScope">Spatial scope
            </gmx:Anchor>
          </gmd:title>
          <gmd:identifier><gmd:MD_Identifier><gmd:code>
            <gmx:Anchor xlink:href="http://x/thesaurus.download">geonetwork.thesaurus.external.theme.httpinspireeceuropaeumetadatacodelistSpatialScope-SpatialScope</gmx:Anchor>
          </gmd:code></gmd:MD_Identifier></gmd:identifier>
        </gmd:CI_Citation></gmd:thesaurusName>
      </gmd:MD_Keywords></gmd:descriptiveKeywords>
      <gmd:descriptiveKeywords><gmd:MD_Keywords>
        <gmd:keyword><gco:CharacterString>cadastre</gco:CharacterString></gmd:keyword>
        <gmd:keyword><gco:CharacterString>Orthoimagery</gco:CharacterString></gmd:keyword>
        <gmd:thesaurusName><gmd:CI_Citation>
          <gmd:title><gco:CharacterString>Mots-clés GéoBretagne</gco:CharacterString></gmd:title>
        </gmd:CI_Citation></gmd:thesaurusName>
      </gmd:MD_Keywords></gmd:descriptiveKeywords>"""


async def test_inspire_themes_go_to_themes_by_their_anchor_or_label_and_other_keywords_to_tags():
    event = events((await harvest({page_url(1): response(record("k", KEYWORDS), 1, 1, 0)}))[0])["k"]
    # "Réseaux de transport" (label) and theme/tn (anchor) -> Transport; theme/lc -> Environnement;
    # "Installations agricoles et aquacoles", in the INSPIRE thesaurus -> Agriculture.
    assert event.themes == ["Agriculture", "Environnement", "Transport"]
    # The spatial scope is no theme, though its GeoNetwork key says "theme" and "inspire"; an
    # "Orthoimagery" outside the INSPIRE thesaurus is a tag like any other.
    assert event.tags == ["National", "Orthoimagery", "cadastre"]


async def test_the_licence_is_the_first_open_one_stated_else_the_first_and_never_an_access_restriction():
    def constraints(*blocks: str) -> str:
        title = "<gmd:citation><gmd:CI_Citation><gmd:title><gco:CharacterString>T</gco:CharacterString></gmd:title>"
        return (
            title
            + "</gmd:CI_Citation></gmd:citation>"
            + "".join(f"<gmd:resourceConstraints>{b}</gmd:resourceConstraints>" for b in blocks)
        )

    access_only = (  # the Géoplateforme's first block: INSPIRE's "no limitations", an access restriction
        "<gmd:MD_LegalConstraints><gmd:accessConstraints><gmd:MD_RestrictionCode codeListValue='otherRestrictions'/>"
        "</gmd:accessConstraints><gmd:otherConstraints><gmx:Anchor xlink:href='http://inspire.ec.europa.eu/metadata-"
        "codelist/LimitationsOnPublicAccess/noLimitations'>Pas de restriction d'accès public selon INSPIRE</gmx:Anchor>"
        "</gmd:otherConstraints></gmd:MD_LegalConstraints>"
    )
    anchor_licence = (  # its licence, an anchor whose text names it
        "<gmd:MD_LegalConstraints><gmd:useConstraints><gmd:MD_RestrictionCode codeListValue='otherRestrictions'/>"
        "</gmd:useConstraints><gmd:otherConstraints><gmx:Anchor xlink:href='https://www.etalab.gouv.fr/wp-content/"
        "uploads/2018/11/open-licence.pdf'>Licence Ouverte / Open License</gmx:Anchor></gmd:otherConstraints>"
        "</gmd:MD_LegalConstraints>"
    )
    odbl_by_href = (
        "<gmd:MD_LegalConstraints><gmd:otherConstraints><gmx:Anchor xlink:href='https://opendatacommons.org/"
        "licenses/odbl/1-0/'>Voir le lien</gmx:Anchor></gmd:otherConstraints></gmd:MD_LegalConstraints>"
    )
    use_limitation = (  # Géo-IDE: the licence among the conditions of use
        "<gmd:MD_Constraints><gmd:useLimitation><gco:CharacterString>Mentionner la source</gco:CharacterString>"
        "</gmd:useLimitation><gmd:useLimitation><gco:CharacterString>Licence Ouverte 1.0 http://www.data.gouv.fr/"
        "Licence-Ouverte-Open-Licence.</gco:CharacterString></gmd:useLimitation></gmd:MD_Constraints>"
    )
    conditions = (  # pycsw's test record: conditions of use that name no licence
        "<gmd:MD_Constraints><gmd:useLimitation><gco:CharacterString>no conditions apply</gco:CharacterString>"
        "</gmd:useLimitation></gmd:MD_Constraints>"
    )
    cases = {
        "geoplateforme": ([access_only, anchor_licence], "licence-ouverte"),
        "by-href": ([odbl_by_href], "odbl"),
        "geo-ide": ([access_only, use_limitation], "licence-ouverte"),
        "access-only": ([access_only], None),
        "no-licence": ([access_only, conditions], "autre"),
    }
    records = "".join(record(name, constraints(*blocks)) for name, (blocks, _) in cases.items())
    found = events((await harvest({page_url(1): response(records, 5, 5, 0)}))[0])
    assert {name: found[name].licence for name in cases} == {name: licence for name, (_, licence) in cases.items()}


async def test_publishers_resources_dates_and_the_record_page():
    identification = """
      <gmd:citation><gmd:CI_Citation>
        <gmd:title><gco:CharacterString>Servitudes JS1</gco:CharacterString></gmd:title>
        <gmd:date><gmd:CI_Date><gmd:date><gco:Date>2021-06-18</gco:Date></gmd:date>
          <gmd:dateType><gmd:CI_DateTypeCode codeListValue="publication" codeList="x">publication</gmd:CI_DateTypeCode>
          </gmd:dateType></gmd:CI_Date></gmd:date>
        <gmd:date><gmd:CI_Date><gmd:date><gco:Date>2021-11-19</gco:Date></gmd:date>
          <gmd:dateType><gmd:CI_DateTypeCode codeListValue="revision" codeList="x">revision</gmd:CI_DateTypeCode>
          </gmd:dateType></gmd:CI_Date></gmd:date>
        <gmd:date><gmd:CI_Date><gmd:date><gco:DateTime>2013-03-08T10:00:00</gco:DateTime></gmd:date>
          <gmd:dateType><gmd:CI_DateTypeCode codeListValue="creation" codeList="x" /></gmd:dateType>
        </gmd:CI_Date></gmd:date>
      </gmd:CI_Citation></gmd:citation>
      <gmd:abstract><gco:CharacterString>Titre : Servitudes

Description : ...</gco:CharacterString></gmd:abstract>
      <gmd:pointOfContact><gmd:CI_ResponsibleParty>
        <gmd:organisationName><gco:CharacterString>Service SIG</gco:CharacterString></gmd:organisationName>
        <gmd:role><gmd:CI_RoleCode codeListValue="pointOfContact" codeList="x" /></gmd:role>
      </gmd:CI_ResponsibleParty></gmd:pointOfContact>
      <gmd:pointOfContact><gmd:CI_ResponsibleParty>
        <gmd:organisationName><gco:CharacterString>DDTM 62</gco:CharacterString></gmd:organisationName>
        <gmd:role><gmd:CI_RoleCode codeListValue="owner" codeList="x" /></gmd:role>
      </gmd:CI_ResponsibleParty></gmd:pointOfContact>"""
    distribution = """
      <gmd:distributionInfo><gmd:MD_Distribution>
        <gmd:distributionFormat><gmd:MD_Format>
          <gmd:name><gco:CharacterString>ESRI Shapefile</gco:CharacterString></gmd:name>
        </gmd:MD_Format></gmd:distributionFormat>
        <gmd:transferOptions><gmd:MD_DigitalTransferOptions>
          <gmd:onLine><gmd:CI_OnlineResource>
            <gmd:linkage><gmd:URL>https://atom.test/GetResource?id=242416db&amp;dataType=dataset</gmd:URL></gmd:linkage>
            <gmd:protocol><gco:CharacterString>WWW:DOWNLOAD-1.0-http--download</gco:CharacterString></gmd:protocol>
          </gmd:CI_OnlineResource></gmd:onLine>
          <gmd:onLine><gmd:CI_OnlineResource>
            <gmd:linkage><gmd:URL>https://data.test/wms?SERVICE=WMS&amp;REQUEST=GetCapabilities</gmd:URL></gmd:linkage>
            <gmd:protocol><gmx:MimeFileType type="">OGC:WMS</gmx:MimeFileType></gmd:protocol>
          </gmd:CI_OnlineResource></gmd:onLine>
          <gmd:onLine><gmd:CI_OnlineResource>
            <gmd:linkage><gmd:URL>https://data.test/wms?SERVICE=WMS&amp;REQUEST=GetCapabilities</gmd:URL></gmd:linkage>
            <gmd:protocol><gmx:MimeFileType type="">OGC:WMS</gmx:MimeFileType></gmd:protocol>
          </gmd:CI_OnlineResource></gmd:onLine>
          <gmd:onLine><gmd:CI_OnlineResource>
            <gmd:linkage><gmd:URL>https://data.test/page</gmd:URL></gmd:linkage>
            <gmd:protocol><gco:CharacterString>WWW:LINK-1.0-http--link</gco:CharacterString></gmd:protocol>
          </gmd:CI_OnlineResource></gmd:onLine>
          <gmd:onLine><gmd:CI_OnlineResource><gmd:linkage><gmd:URL /></gmd:linkage></gmd:CI_OnlineResource></gmd:onLine>
        </gmd:MD_DigitalTransferOptions></gmd:transferOptions>
      </gmd:MD_Distribution></gmd:distributionInfo>"""
    iso = record("jdd-585c9cd3", identification)
    body = response(iso.replace("</gmd:identificationInfo>", "</gmd:identificationInfo>" + distribution), 1, 1, 0)
    event = events((await harvest({page_url(1): body}))[0])["jdd-585c9cd3"]
    assert event.publisher.name == "DDTM 62"  # the owner, before a plain point of contact
    assert event.description == "Titre : Servitudes Description : ..."
    assert [(r.url, r.format) for r in event.resources] == [
        ("https://atom.test/GetResource?id=242416db&dataType=dataset", "shp"),  # a download: the only MD_Format
        ("https://data.test/wms?SERVICE=WMS&REQUEST=GetCapabilities", "wms"),  # once, though listed twice
        ("https://data.test/page", "html"),
    ]
    assert event.created.isoformat() == "2013-03-08T10:00:00+00:00"  # creation
    assert event.modified.isoformat() == "2021-11-19T00:00:00+00:00"  # revision, before publication
    assert event.remote_url == "https://geo.test/geonetwork/srv/api/records/jdd-585c9cd3"
    assert event.portal_kind == "csw" and event.content_hash


async def test_without_dates_in_the_citation_the_metadata_date_stamp_is_the_modification():
    event = events((await harvest({page_url(1): response(record("a"), 1, 1, 0)}))[0])["a"]
    assert event.created is None and event.modified.isoformat() == "2019-03-25T22:55:41.312000+01:00"
    assert event.publisher.name == "DDTM 80"  # no point of contact: the metadata's contact


async def test_another_server_s_records_point_at_get_record_by_id_and_a_capabilities_url_is_cleaned():
    endpoint = "https://geo.test/csw/all-dataset"
    registered = f"{endpoint}?SERVICE=CSW&REQUEST=GetCapabilities&portal=pnr"  # a portal's own parameter is kept
    asked = f"{endpoint}?portal=pnr&{GET_RECORDS[1:]}&startPosition=1&maxRecords=50"
    items, fetcher = await harvest({asked: response(record("fr-1/2"), 1, 1, 0)}, registered)
    assert fetcher.asked == [asked]
    assert events(items)["fr-1/2"].remote_url == (
        f"{endpoint}?portal=pnr&service=CSW&version=2.0.2&request=GetRecordById&elementSetName=full"
        "&outputSchema=http://www.isotc211.org/2005/gmd&id=fr-1%2F2"
    )


# DCAT output: the same pages asked with outputSchema DCAT, each record an rdf:RDF of its own inside
# csw:SearchResults, as geo2france's GeoNetwork answers them (tests/data/real/csw/geonetwork-dcat-page-*.xml).
DCAT_ENDPOINT = f"{ENDPOINT}?outputSchema=http://www.w3.org/ns/dcat%23"
RDF_NAMESPACES = (
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dct="http://purl.org/dc/terms/" '
    'xmlns:dcat="http://www.w3.org/ns/dcat#" xmlns:foaf="http://xmlns.com/foaf/0.1/" '
    'xmlns:skos="http://www.w3.org/2004/02/skos/core#"'
)


ECONOMIE = "https://geo.test/geonetwork/srv/resources/registries/vocabularies/Th%C3%A8mes/concepts/ECONOMIE"


def dcat_page_url(start: int) -> str:
    return page_url(start).replace("http://www.isotc211.org/2005/gmd", "http://www.w3.org/ns/dcat%23")


def dcat_record(identifier: str, dataset: str = "") -> str:
    """One record as GeoNetwork writes it in DCAT: a catalogue record, the dataset, its concepts,
    distributions and organisation, in an rdf:RDF declaring its own prefixes."""
    uuid = identifier.rsplit("/", 1)[-1]
    record = f"https://geo.test/geonetwork/records/{uuid}"
    return f"""
    <rdf:RDF {RDF_NAMESPACES}>
      <dcat:CatalogRecord rdf:about="{record}">
        <dct:modified>2024-02-07</dct:modified>
      </dcat:CatalogRecord>
      <dcat:Dataset rdf:about="https://geo.test/geonetwork/srv/fre/catalog.search#/metadata/{uuid}">
        <dct:identifier>{identifier}</dct:identifier>
        <dcat:landingPage>https://geo.test/geonetwork/srv/resources/{identifier}</dcat:landingPage>
        <dct:title>Zonage {identifier}</dct:title>
        <dct:abstract>Zonage défini par un arrêté de 2018.</dct:abstract>
        <dcat:keyword>COMMUNE</dcat:keyword>
        <dcat:theme rdf:resource="{ECONOMIE}" />
        <dct:issued>2020-05-28</dct:issued>
        <dct:publisher rdf:resource="https://geo.test/organizations/G%C3%A9o2France" />
        <dct:license>Licence Ouverte version 2.0  https://www.etalab.gouv.fr/wp-content/uploads/2017/04/ETALAB-Licence-Ouverte-v2.0.pdf</dct:license>
        <dcat:distribution rdf:resource="{record}#OGC%3AWMS-bud" />
        <dcat:distribution rdf:resource="{record}#OGC%3AWFS-bud" />{dataset}
      </dcat:Dataset>
      <skos:Concept rdf:about="{ECONOMIE}">
        <skos:prefLabel>ECONOMIE</skos:prefLabel>
      </skos:Concept>
      <dcat:Distribution rdf:about="{record}#OGC%3AWMS-bud">
        <dcat:accessURL>https://geo.test/geoserver/anct/ows</dcat:accessURL>
        <dct:format>OGC:WMS</dct:format>
      </dcat:Distribution>
      <foaf:Organization rdf:about="https://geo.test/organizations/G%C3%A9o2France">
        <foaf:name>Géo2France</foaf:name>
      </foaf:Organization>
    </rdf:RDF>"""


async def test_a_source_asking_for_dcat_reads_the_pages_in_dcat_following_next_record():
    documents = {
        dcat_page_url(1): response(dcat_record("fr-1/a") + dcat_record("fr-1/b"), matched=6, returned=2, next_record=3),
        dcat_page_url(3): response(dcat_record("c") + dcat_record("d"), matched=6, returned=2, next_record=5),
        dcat_page_url(5): response(dcat_record("e") + dcat_record("f"), matched=6, returned=2, next_record=0),
    }
    items, fetcher = await harvest(documents, DCAT_ENDPOINT)
    assert fetcher.asked == [dcat_page_url(1), dcat_page_url(3), dcat_page_url(5)]
    assert list(events(items)) == ["fr-1/a", "fr-1/b", "c", "d", "e", "f"]
    event = events(items)["fr-1/a"]  # the DCAT family's mapping
    assert event.title == "Zonage fr-1/a"
    assert event.description == "Zonage défini par un arrêté de 2018."  # dct:abstract
    assert event.remote_url == "https://geo.test/geonetwork/srv/resources/fr-1/a"  # dcat:landingPage
    assert event.publisher.name == "Géo2France"
    assert event.licence == "licence-ouverte"
    assert event.themes == ["Economie"] and "COMMUNE" in event.tags
    assert [(r.url, r.format) for r in event.resources] == [("https://geo.test/geoserver/anct/ows", "wms")]
    assert event.created.isoformat() == "2020-05-28T00:00:00+00:00"
    assert event.modified is None  # the catalogue record's date is not the dataset's
    assert event.portal_kind == "csw"


@pytest.mark.parametrize(
    "registered",
    [
        f"{ENDPOINT}?outputSchema=http://www.w3.org/ns/dcat#",
        f"{ENDPOINT}?SERVICE=CSW&REQUEST=GetCapabilities&OUTPUTSCHEMA=http%3A%2F%2Fwww.w3.org%2Fns%2Fdcat%23",
    ],
)
async def test_dcat_is_asked_whatever_way_the_source_url_writes_it(registered):
    items, fetcher = await harvest({dcat_page_url(1): response(dcat_record("a"), 1, 1, 0)}, registered)
    assert fetcher.asked == [dcat_page_url(1)] and list(events(items)) == ["a"]


async def test_iso_19139_stays_the_default_and_another_output_schema_is_not_dcat():
    registered = f"{ENDPOINT}?outputSchema=http://www.opengis.net/cat/csw/2.0.2"
    items, fetcher = await harvest({page_url(1): response(record("a"), 1, 1, 0)}, registered)
    assert fetcher.asked == [page_url(1)] and list(events(items)) == ["a"]


async def test_a_dcat_record_that_cannot_be_read_is_an_item_error_beside_the_good_ones():
    unreadable = f"""
    <rdf:RDF {RDF_NAMESPACES}>
      <dcat:Dataset rdf:about="https://geo.test/bad" rdf:nodeID="b1"><dct:identifier>bad</dct:identifier></dcat:Dataset>
    </rdf:RDF>"""
    untitled = dcat_record("untitled").replace("<dct:title>Zonage untitled</dct:title>", "")
    iso = record("iso")  # a record in another schema among the RDF ones
    body = response(dcat_record("a") + unreadable + untitled + iso + dcat_record("b"), 5, 5, 0)
    items, _ = await harvest({dcat_page_url(1): body}, DCAT_ENDPOINT)
    assert set(events(items)) == {"a", "b"}
    errors = {item.remote_id: item.error or "" for item in items if item.error}
    assert errors["bad"].startswith("unreadable record:")
    assert "without a title" in errors["untitled"]
    assert errors[None] == "not an RDF record: <MD_Metadata>"


async def test_loose_dcat_nodes_in_the_results_are_read_with_the_prefixes_of_the_answer():
    # Prefixes declared on the answer's root only, the records' nodes directly in csw:SearchResults.
    nodes = """
    <dcat:Dataset rdf:about="https://geo.test/d/1">
      <dct:identifier>loose-1</dct:identifier><dct:title xml:lang="fr">Premier</dct:title>
      <dcat:distribution><dcat:Distribution>
        <dcat:downloadURL rdf:resource="https://geo.test/1.csv"/><dct:format>CSV</dct:format>
      </dcat:Distribution></dcat:distribution>
    </dcat:Dataset>
    <rdf:Description rdf:about="https://geo.test/d/2">
      <rdf:type rdf:resource="http://www.w3.org/ns/dcat#Dataset"/><dct:title>Second</dct:title>
    </rdf:Description>"""
    body = response(nodes, 2, 2, 0).replace("<csw:GetRecordsResponse", f"<csw:GetRecordsResponse {RDF_NAMESPACES}")
    items, _ = await harvest({dcat_page_url(1): body}, DCAT_ENDPOINT)
    found = events(items)
    assert found["loose-1"].title == "Premier" and found["loose-1"].resources[0].format == "csv"
    assert found["https://geo.test/d/2"].title == "Second"  # no dct:identifier: the IRI


async def test_an_answer_without_any_rdf_record_stops_a_dcat_run():
    with pytest.raises(HarvestAborted, match="no DCAT record"):
        await harvest({dcat_page_url(1): response(record("a"), 1, 1, 0)}, DCAT_ENDPOINT)
