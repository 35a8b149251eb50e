from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.harvester import schedules
from services.harvester.backends.base import HarvestAborted, HarvestBackend, PageGuard
from services.harvester.mapping import (
    LICENCE_VOCABULARY,
    RecordOrigin,
    clean_text,
    content_hash,
    discovered,
    normalise_format,
    normalise_licence,
    parse_date,
    publisher_of,
    resource,
    schema_of,
    upstream_of,
)
from shared.events import DatasetDiscovered


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
    assert schema_of({"name": "scdl/budget", "version": "0.8.3"}) == {"name": "scdl/budget", "version": "0.8.3"}
    assert schema_of({"name": "scdl/budget", "version": 1}) == {"name": "scdl/budget", "version": "1"}
    from_url = schema_of("https://schema.data.gouv.fr/schemas/scdl/deliberations/2.1.5/schema.json")
    assert from_url == {"name": "scdl/deliberations", "version": "2.1.5"}
    assert schema_of({"name": None, "url": None, "version": None}) is None


def test_a_schema_declared_by_its_file_anywhere_counts_and_scdl_ones_are_named_as_scdl():
    # A Table Schema on GitHub (etalab's IRVE repository), as CKAN's `schema` or DCAT's conformsTo give it.
    irve = "https://raw.githubusercontent.com/etalab/schema-irve/v2.3.0/statique/schema.json"
    assert schema_of(irve) == {"name": irve, "version": None}
    # udata's "unknown schema": a URL, no name (udata's Schema document: url set, name and version maybe).
    assert schema_of({"name": None, "version": None, "url": irve}) == {"name": irve, "version": None}
    # SCDL schemas in Open Data France's repository, as its documentation links them.
    scdl = "https://git.opendatafrance.net/scdl/subventions/raw/v2.0.2/schema.json"
    assert schema_of(scdl) == {"name": "scdl/subventions", "version": "2.0.2"}
    on_master = "https://git.opendatafrance.net/scdl/marches-publics/blob/master/schema.json"
    assert schema_of(on_master) == {"name": "scdl/marches-publics", "version": None}
    # What DCAT's conformsTo also carries and is no schema: a reference system, a regulation, a page.
    for other in ("http://www.opengis.net/def/crs/EPSG/0/2154", "http://data.europa.eu/eli/reg/2010/1089",
                  "https://project-open-data.cio.gov/v1.1/schema", "pas une URL"):  # fmt: skip
        assert schema_of(other) is None, other


def test_dates_keep_the_portals_value_and_zone():
    assert parse_date("2014-05-09T22:00:01.486366") == datetime(2014, 5, 9, 22, 0, 1, 486366, tzinfo=UTC)
    assert parse_date("2022-07-29T11:29:07.556Z").tzinfo is not None
    assert parse_date("pas une date") is None


def test_html_is_cleaned_from_text():
    assert clean_text("<p>Budget &amp; <b>comptes</b></p>  ") == "Budget & comptes"
    assert clean_text("   ") is None


def test_control_characters_are_dropped_from_text_and_whitespace_kept_as_spaces():
    assert clean_text("Titre\x00 nul\x07\x7f\tet\x1fsuite") == "Titre nul et suite"
    assert clean_text("\x00\x01") is None


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


texts = st.one_of(st.none(), st.text(), st.integers())
dates = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.datetimes(
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9, minutes=-30))])
    ).map(datetime.isoformat),
    st.datetimes().map(datetime.isoformat),  # naive: taken as UTC
)


@given(
    title=st.text(min_size=1).filter(lambda t: clean_text(t) is not None),
    description=texts,
    licence=texts,
    words=st.lists(texts, max_size=4),
    created=dates,
    modified=dates,
    resources=st.lists(
        st.tuples(texts, texts, st.one_of(texts, st.fixed_dictionaries({"name": texts, "version": texts}))), max_size=3
    ),
    origin=st.one_of(st.none(), st.tuples(texts, texts, texts, texts)),
    publisher=st.tuples(st.text(), texts, texts),
)
def test_the_written_event_is_a_valid_dataset_discovered_with_the_model_s_content_hash(
    title, description, licence, words, created, modified, resources, origin, publisher
):
    """The harvest writes its events from plain values: what it writes must validate against the
    contract, and its content hash must be the one the model defines (hashes stay comparable)."""
    written = discovered(
        RecordOrigin("run", "source", "udata", "https://portal.test", "r-1", territory="35"),
        remote_url="https://portal.test/r-1", publisher=publisher_of(*publisher), title=title,
        description=description, licence=licence, themes=words, tags=words[::-1],
        resources=[resource(*r) for r in resources], created=created, modified=modified,
        upstream=upstream_of(*origin) if origin else None,
    )  # fmt: skip
    event = DatasetDiscovered.model_validate_json(written.payload)
    assert (written.key, written.topic) == (event.key(), event.topic)
    assert event.content_hash == content_hash(event)
    assert event.title == clean_text(title) and event.publisher.departement == "35"
    assert event.modified == parse_date(modified)


def test_a_value_that_cannot_be_written_as_json_is_an_item_error():
    def build():
        return discovered(
            RecordOrigin("run", "source", "ckan", "https://portal.test", "r-2"),
            remote_url=None, publisher=publisher_of("Ville"), title="Budget \ud800",  # a lone surrogate
        )  # fmt: skip

    item = HarvestBackend.item("r-2", build)
    assert item.dataset is None and item.event is None
    assert item.error is not None and item.error.startswith("cannot map the dataset")


def test_an_identifier_too_long_to_index_is_an_item_error_with_its_identifier():
    def build(remote_id: str):
        return lambda: discovered(
            RecordOrigin("run", "source", "dcat", "https://portal.test", remote_id),
             remote_url=None, publisher=publisher_of("Ville"), title="Budget",
        )  # fmt: skip

    longest = "https://portal.test/dataset?" + "x" * (500 - 28)
    assert len(longest) == 500
    assert HarvestBackend.item(longest, build(longest)).dataset is not None
    too_long = longest + "x"
    item = HarvestBackend.item(too_long, build(too_long))
    assert (item.dataset, item.remote_id, item.error) == (None, too_long, "identifier longer than 500 characters")


def test_resource_urls_are_never_read_as_html():
    """`&param=`, `&region=`, `&timestamp=` are query parameters, not the entities ¶, ®, ×."""
    url = "https://portal.test/export?id=1&param=2&timestamp=3&region=5&centre=6&copy=7"
    assert resource(f"  {url}\n")["url"] == url
    assert resource("https://portal.test/wfs?service=WFS&amp;request=GetFeature")["url"] == (
        "https://portal.test/wfs?service=WFS&request=GetFeature"
    )


def test_a_source_with_an_owner_names_it_beside_the_publisher_and_others_keep_their_hashes():
    def written(owner: str | None) -> DatasetDiscovered:
        event = discovered(
            RecordOrigin("run", "source", "ods", "https://portal.test", "r-3", territory="25", owner=owner),
            remote_url=None, publisher=publisher_of("DOUBS"), title="Budget",
        )  # fmt: skip
        return DatasetDiscovered.model_validate_json(event.payload)

    owned, ownerless = written("DEP-25"), written(None)
    assert owned.publisher.portal_owner == "DEP-25" and ownerless.publisher.portal_owner is None
    assert owned.content_hash == content_hash(owned) and ownerless.content_hash == content_hash(ownerless)
    assert b"portal_owner" not in discovered(
        RecordOrigin("run", "source", "ods", "https://portal.test", "r-3", territory="25"),
        remote_url=None, publisher=publisher_of("DOUBS"), title="Budget",
    ).payload  # fmt: skip
