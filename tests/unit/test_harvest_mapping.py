from datetime import UTC, datetime, timedelta

import pytest

from services.harvester import schedules
from services.harvester.backends.base import HarvestAborted, PageGuard
from services.harvester.mapping import (
    LICENCE_VOCABULARY,
    clean_text,
    normalise_format,
    normalise_licence,
    parse_date,
    schema_of,
)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("fr-lo", "licence-ouverte"),
        ("lov2", "licence-ouverte"),
        ("Licence Ouverte v2.0 (Etalab)", "licence-ouverte"),
        ("https://www.etalab.gouv.fr/licence-ouverte-open-licence", "licence-ouverte"),
        (
            "<DIV><P>Soumis à la licence Etalab : https://www.etalab.gouv.fr/licence-ouverte-open-licence</P></DIV>",
            "licence-ouverte",
        ),
        ("odc-odbl", "odbl"),
        ("ODbL", "odbl"),
        ("https://opendatacommons.org/licenses/odbl/1-0/", "odbl"),
        ("cc-by", "cc-by"),
        ("CC-BY-SA 4.0", "cc-by-sa"),
        ("notspecified", "non-specifiee"),
        ("Licence propriétaire", "autre"),
        ("", None),
        (None, None),
    ],
)
def test_licences_are_normalised_to_a_small_vocabulary(raw, expected):
    assert normalise_licence(raw) == expected
    assert expected is None or expected in LICENCE_VOCABULARY


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("CSV", "csv"),
        (".csv", "csv"),
        ("text/csv", "csv"),
        ("GeoJSON", "geojson"),
        ("Esri Shapefile", "shp"),
        ("", None),
        ("parquet", "parquet"),
    ],
)
def test_formats_are_normalised(raw, expected):
    assert normalise_format(raw) == expected


def test_schemas_come_from_udata_fields_or_schema_urls():
    assert schema_of({"name": "scdl/budget", "version": "0.8.3"}).version == "0.8.3"
    from_url = schema_of("https://schema.data.gouv.fr/schemas/scdl/deliberations/2.1.5/schema.json")
    assert (from_url.name, from_url.version) == ("scdl/deliberations", "2.1.5")
    assert schema_of({"name": None, "url": None, "version": None}) is None
    assert schema_of("https://example.org/my-schema.json") is None


def test_dates_keep_the_portals_value_and_zone():
    assert parse_date("2014-05-09T22:00:01.486366") == datetime(2014, 5, 9, 22, 0, 1, 486366, tzinfo=UTC)
    assert parse_date("2022-07-29T11:29:07.556Z").tzinfo is not None
    assert parse_date("pas une date") is None


def test_html_is_cleaned_from_text():
    assert clean_text("<p>Budget &amp; <b>comptes</b></p>  ") == "Budget & comptes"
    assert clean_text("   ") is None


@pytest.mark.parametrize(
    "schedule, hours", [("@hourly", 1), ("@daily", 24), ("@weekly", 168), ("every 90m", 1.5), ("every 2d", 48)]
)
def test_schedules(schedule, hours):
    assert schedules.interval(schedule) == timedelta(hours=hours)


def test_unknown_schedules_are_refused_and_manual_never_runs():
    with pytest.raises(ValueError):
        schedules.interval("tous les jours")
    assert schedules.next_run("@manual", datetime.now(UTC)) is None


def test_incremental_only_with_a_watermark_and_a_recent_full_run():
    now = datetime.now(UTC)
    assert schedules.mode_for("ckan", None, None, now) == "full"
    assert schedules.mode_for("ckan", now, now - timedelta(days=1), now) == "incremental"
    assert schedules.mode_for("ckan", now, now - timedelta(days=8), now) == "full"
    assert schedules.mode_for("dcat", now, now, now) == "full"  # DCAT catalogues have no filter on dates


def test_page_guard_stops_loops():
    guard = PageGuard(max_pages=3)
    guard.visit("a")
    with pytest.raises(HarvestAborted, match="already read"):
        guard.visit("a")
    guard.check_items(["1", "2"], "a")
    with pytest.raises(HarvestAborted, match="repeats"):
        guard.check_items(["1", "2"], "b")
    guard.visit("b")
    guard.visit("c")
    with pytest.raises(HarvestAborted, match="more than 3 pages"):
        guard.visit("d")
