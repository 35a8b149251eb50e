"""The vocabularies every family is normalised to (docs/harvesting.md, "Vocabularies"), on values as
real portals write them: ODS's theme labels, INSPIRE and EU IRIs, GeoNetwork protocols, CKAN licence
titles."""

import pytest

from services.harvester.mapping import RecordOrigin, discovered, publisher_of
from services.harvester.vocabularies import (
    THEMES,
    normalise_format,
    normalise_licence,
    split_themes,
    themes_of_label,
)
from shared.events import DatasetDiscovered


@pytest.mark.parametrize(
    "label, themes",
    [
        ("Administration, Gouvernement, Finances publiques, Citoyenneté", ("Administratif", "Citoyenneté", "Finance")),
        ("Transports, Déplacements", ("Transport",)),
        ("Aménagement du territoire, Urbanisme, Bâtiments, Equipements, Logement", ("Equipements", "Urbanisme")),
        ("Sports, Loisirs", ("Sport",)),
        ("http://publications.europa.eu/resource/authority/data-theme/ENVI", ("Environnement",)),
        ("http://publications.europa.eu/resource/authority/data-theme/TRAN", ("Transport",)),
        ("http://inspire.ec.europa.eu/theme/tn", ("Transport",)),
        ("Habitats et biotopes", ("Environnement",)),  # not the Urbanisme of "habitat"
        ("Usage des sols", ("Urbanisme",)),  # INSPIRE's label of lu (land use), not the Environnement of "sol"
        ("Land use", ("Urbanisme",)),
        ("Habitat", ("Urbanisme",)),
        ("Environmental monitoring facilities", ("Environnement",)),
        ("Questions internationales", ()),
        ("http://www.eionet.europa.eu/gemet/concept/6445", ()),
    ],
)
def test_theme_labels_and_iris_map_to_odf_themes(label, themes):
    assert themes_of_label(label) == themes
    assert set(themes) <= set(THEMES)


def test_labels_that_name_no_theme_are_kept_as_tags_and_unknown_iris_dropped():
    event = DatasetDiscovered.model_validate_json(
        discovered(
            RecordOrigin("r", "s", "dcat", "https://p.test", "1"),
            remote_url=None, publisher=publisher_of("Ville"), title="Jeu",
            themes=["Transports", "Questions internationales", "http://www.eionet.europa.eu/gemet/concept/6445"],
            tags=["bus"],
        ).payload
    )  # fmt: skip
    assert event.themes == ["Transport"]
    assert event.tags == ["Questions internationales", "bus"]
    assert split_themes(["Sport", "Sport"]) == (["Sport"], [])


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("https://www.iana.org/assignments/media-types/application/json", "json"),
        ("https://www.iana.org/assignments/media-types/text/csv", "csv"),
        ("http://publications.europa.eu/resource/authority/file-type/CSV", "csv"),
        ("http://publications.europa.eu/resource/authority/file-type/GEOJSON", "geojson"),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
        ("text/csv; charset=utf-8", "csv"),
        ("OGC:WMS-1.1.1-http-get-map", "wms"),
        ("WWW:LINK-1.0-http--link", "html"),
        ("WWW:DOWNLOAD-1.0-http--download", None),
        ("Web Page", "html"),
        ("ArcGIS GeoServices REST API", "api"),
        ("Parquet", "parquet"),
        ("ESRI Shapefile (SHP)", "shp"),
        ("Shapefile (zip)", "shp"),
        ("CSV LonLat/XY", "csv"),
        ("MapInfo TAB", "tab"),
    ],
)
def test_formats_from_media_types_iris_and_protocols(raw, expected):
    assert normalise_format(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Licence Ouverte Version 2.0", "licence-ouverte"),
        ("Licence Ouverte / Open Licence version 2.0", "licence-ouverte"),
        ("https://spdx.org/licenses/etalab-2.0", "licence-ouverte"),
        ("http://publications.europa.eu/resource/authority/licence/CC_BY_4_0", "cc-by"),
        ("Creative Commons Attribution Share-Alike", "cc-by-sa"),
        ("Creative Commons Attribution", "cc-by"),
        ("Creative Commons CCZero", "cc0"),
        ("Open Data Commons Open Database License (ODbL)", "odbl"),
        ("cc-by-nc-sa", "autre"),
        ("https://creativecommons.org/licenses/by-nc/4.0/", "autre"),
        ("License not specified", "non-specifiee"),
        ("copyright", "autre"),
    ],
)
def test_licences_as_portals_write_them(raw, expected):
    assert normalise_licence(raw) == expected
