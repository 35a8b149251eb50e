"""The api's pure parts: map points written as text, CSV cells, population bins as SQL bounds, the
micro-cache's freshness and stale map answers, keyset tokens, kept totals."""

import asyncio
import json
import re
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

from services.api.caching import MicroCache, http_caching
from services.api.geodata import coloured, heads_of, point_columns, point_feature, point_of, texts_of
from services.api.params import BadRequest, after_keys, after_token
from services.api.selections import ID_KEY, SORTS, DatasetFilter, prefix_range
from services.api.totals import Counted, Totals
from shared.matching import STOP_WORDS, search_words, title_words
from shared.population import population_bounds
from shared.tables import csv_cell

ROOT = Path(__file__).resolve().parents[2]

PLACES = {"communes": {"42218": [4.38, 45.43]}, "epci": {"244200770": [4.4, 45.4]}, "departements": {},
          "regions": {"84": [4.5, 45.5]}}  # fmt: skip


def test_a_map_point_is_valid_geojson_whatever_the_name():
    properties = {"id": 'X"1', "name": "Saint-Étienne </script>", "type": "COM", "publishes": True, "obligated": None}
    row = {**properties, "insee_code": "42218"}
    feature = json.loads(point_feature(row, heads_of(PLACES)) or "")
    assert feature == {"type": "Feature", "geometry": {"type": "Point", "coordinates": [4.38, 45.43]},
                       "properties": properties}  # fmt: skip
    assert point_feature({**row, "insee_code": "99999"}, heads_of(PLACES)) is None


def test_organisations_are_placed_by_their_kind():
    assert point_of({"id": "244200770", "type": "MET", "siren": "244200770"}, PLACES) == [4.4, 45.4]
    assert point_of({"id": "REG-84", "type": "REG", "region": "84"}, PLACES) == [4.5, 45.5]
    assert point_of({"id": "x", "type": "OACT"}, PLACES) is None


def test_map_points_as_columns_keep_the_order_and_count_the_unplaced():
    rows: list[dict[str, object]] = [
        {"id": "217500016", "siren": "217500016", "name": "Paris", "type": "COM", "insee_code": "42218",
         "departement": "42", "region": "84", "publishes": True, "obligated": True},
        {"id": "x", "siren": None, "name": "Syndicat", "type": "OACT", "insee_code": None, "departement": None,
         "region": None, "publishes": False, "obligated": None},
        {"id": "REG-84", "siren": None, "name": "Région", "type": "REG", "insee_code": None, "departement": None,
         "region": "84", "publishes": False, "obligated": True},
    ]  # fmt: skip
    columns: dict[str, list[object]] = {field: [r[field] for r in rows] for field in rows[0]}
    answer = point_columns(columns, texts_of(PLACES))
    assert json.loads(answer) == {
        "id": ["217500016", "REG-84"], "name": ["Paris", "Région"], "type": ["COM", "REG"],
        "publishes": [True, False], "obligated": [True, True], "lon": [4.38, 4.5], "lat": [45.43, 45.5], "unplaced": 1,
    }  # fmt: skip
    assert json.loads(point_columns({field: [] for field in rows[0]}, texts_of(PLACES)))["unplaced"] == 0


def test_map_columns_quote_any_name():
    names = ['Le "Mas"', "Saint-Étienne </script>", "a\\b\ttab", "\u2028"]
    columns = {"id": [f"2{n}" for n in range(4)], "siren": [None] * 4, "name": names, "type": ["COM"] * 4,
               "insee_code": ["42218"] * 4, "departement": [None] * 4, "region": [None] * 4,
               "publishes": [True, None, False, True], "obligated": [None] * 4}  # fmt: skip
    answer = json.loads(point_columns(columns, texts_of(PLACES)))
    assert answer["name"] == names and answer["publishes"] == [True, None, False, True]


def test_areas_carry_the_indicator_value(tmp_path):
    geometry = {"type": "Point", "coordinates": [1, 2]}
    areas = [{"type": "Feature", "geometry": geometry, "properties": {"code": code, "nom": nom}}
             for code, nom in (("84", "Auvergne-Rhône-Alpes"), ("11", "Île-de-France"))]  # fmt: skip
    (tmp_path / "regions.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": areas}))
    collection = json.loads(coloured(tmp_path, "regions", {"84": 0.5}, "opening_rate"))
    assert [f["properties"] for f in collection["features"]] == [
        {"code": "84", "nom": "Auvergne-Rhône-Alpes", "indicator": "opening_rate", "value": 0.5},
        {"code": "11", "nom": "Île-de-France", "indicator": "opening_rate", "value": None},
    ]
    assert collection["features"][0]["geometry"] == geometry


def test_csv_cells_cannot_run_as_formulas():
    assert csv_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert csv_cell("-1+2") == "'-1+2" and csv_cell(-3) == -3
    assert csv_cell(["csv", "json"]) == "csv|json"


def test_population_bins_become_sql_bounds():
    assert population_bounds("na") == (0, 1_000)
    assert population_bounds("p_50_100") == (50_000, 100_000)
    assert population_bounds("p_1000_5000.001") == (1_000_000, None)
    assert population_bounds("p_na") == (None, None)


def test_the_micro_cache_keeps_an_answer_only_a_few_seconds():
    cache = MicroCache(seconds=0.0)
    item = cache.put("/a", web.json_response({"x": 1}))
    assert cache.get("/a") is item and item.etag.startswith('"')
    assert not cache.fresh(item)
    assert MicroCache(seconds=60).fresh(MicroCache(seconds=60).put("/b", web.json_response({})))


async def test_a_map_answer_older_than_the_micro_cache_is_served_at_once_and_computed_again_behind():
    computed: list[int] = []
    started = 0
    release = asyncio.Event()

    async def points(request: web.Request) -> web.Response:
        nonlocal started
        started += 1
        if computed:
            await release.wait()  # a slow query: the visitor must not wait for it
        computed.append(len(computed) + 1)
        return web.json_response({"version": len(computed)})

    app = web.Application(middlewares=[http_caching((), MicroCache(seconds=0.0))])
    app.router.add_get("/api/v1/map/organizations.json", points)
    async with TestClient(TestServer(app)) as client:
        first = await client.get("/api/v1/map/organizations.json")
        assert (await first.json(), first.headers["Cache-Control"]) == (
            {"version": 1},
            "public, max-age=10, stale-while-revalidate=30",
        )
        burst = [client.get("/api/v1/map/organizations.json") for _ in range(5)]
        for stale in await asyncio.wait_for(asyncio.gather(*burst), timeout=5):
            assert await stale.json() == {"version": 1}  # the previous answer, while the new one is computed
        assert started == 2  # the burst started one computation, not five
        release.set()
        for _ in range(100):
            if len(computed) == 2:
                break
            await asyncio.sleep(0.01)
        renewed = await client.get("/api/v1/map/organizations.json")
        assert await renewed.json() == {"version": 2}


def test_an_after_token_is_checked_before_any_query():
    keys = (*SORTS["-datasets"], ID_KEY)

    def read(token: str, sort: str = "-datasets") -> object:
        return after_keys(make_mocked_request("GET", f"/api/v1/organizations?after={token}"), sort, keys)

    assert read(after_token("-datasets", [12, "213502388"])) == [12, "213502388"]
    for token in ("%%%", "bm90IGpzb24", after_token("name", ["Rennes", "x"]), after_token("-datasets", ["12", "x"]),
                  after_token("-datasets", [True, "x"]), after_token("-datasets", [None, "x"]),
                  after_token("-datasets", [12])):  # fmt: skip
        try:
            read(token)
        except BadRequest as refused:
            assert str(refused).startswith("after : ")
        else:
            raise AssertionError(f"{token} was taken")


def test_totals_are_kept_per_selection_until_the_version_moves():
    class Connection:  # the projection's version, as repository.list_version reads it
        version = 1

        async def fetchval(self, sql: str) -> int:
            return self.version

    counts = []

    async def count() -> Counted:
        counts.append(1)
        return Counted(len(counts), True)

    async def scenario() -> list[tuple[Counted, bool]]:
        totals, conn = Totals(version_seconds=0), Connection()
        seen = [await totals.total(conn, "a", count), await totals.total(conn, "a", count)]
        conn.version = 2
        return [*seen, await totals.total(conn, "a", count), await totals.total(conn, "b", count)]

    assert asyncio.run(scenario()) == [(Counted(1, True), False), (Counted(1, True), True),
                                       (Counted(2, True), False), (Counted(3, True), False)]  # fmt: skip


def test_a_datasets_search_walks_the_words_of_titles_led_by_the_longest_word_searched():
    searched = DatasetFilter(q="Élections  MUNIC").selection()
    sql, args = searched.where.built()
    assert searched.relation == "indicators_read.dataset_words i" and searched.distinct
    assert args == ["elections", "electiont", "munic", "munid"]
    assert "withdrawn" not in sql  # the words are the live datasets'
    # Within one organisation, its live datasets in the list's order, each title's words found by id.
    in_one = DatasetFilter(q="Élections  MUNIC", organization="o1").selection()
    assert in_one.relation == "indicators_read.datasets i" and not in_one.distinct
    assert in_one.where.built()[1] == [False, "elections", "electiont", "munic", "munid", "o1"]
    # Withdrawn datasets, or nothing but one-letter words, are searched in the titles' text.
    for kept in (DatasetFilter(q="parc", withdrawn=True), DatasetFilter(q="n b"), DatasetFilter(q="de la")):
        selection = kept.selection()
        assert selection.relation == "indicators_read.datasets i" and not selection.distinct
        assert "ILIKE" in selection.where.built()[0]
    assert prefix_range("z9") == ("z9", "z:") and search_words("Parc, parc et PARCS") == ["parc", "et", "parcs"]
    # Stop words are neither looked for nor indexed.
    assert title_words("Plan de la ville et des parcs") == ["plan", "ville", "parcs"]
    assert DatasetFilter(q="plan de ville").selection().where.built()[1] == ["ville", "villf", "plan", "plao"]


def test_the_migration_that_drops_stop_words_from_the_index_drops_these_stop_words():
    sql = (ROOT / "services/indicators/migrations/014_no_stop_words.sql").read_text()
    assert set(re.findall(r"'(\w+)'", sql)) == STOP_WORDS


def test_an_answer_cached_for_one_host_is_never_served_to_another():
    """The catalogue and the feeds write the Observatoire's addresses from the request's host when
    OBS_PUBLIC_URL is not set: a forged Host must not reach other visitors through the micro-cache."""

    async def scenario() -> list[str]:
        async def catalogue(request: web.Request) -> web.Response:
            return web.Response(text=f"<http://{request.host}/api/v1/catalog>", content_type="text/turtle")

        app = web.Application(middlewares=[http_caching((), MicroCache(seconds=60))])
        app.router.add_get("/api/v1/catalog.ttl", catalogue)
        async with TestClient(TestServer(app)) as client:
            forged = await client.get("/api/v1/catalog.ttl", headers={"Host": "evil.example"})
            honest = await client.get("/api/v1/catalog.ttl", headers={"Host": "observatoire.example"})
            return [await forged.text(), await honest.text()]

    assert asyncio.run(scenario()) == [
        "<http://evil.example/api/v1/catalog>",
        "<http://observatoire.example/api/v1/catalog>",
    ]
