"""The api's pure parts: map points written as text, CSV cells, population bins as SQL bounds, the
micro-cache's freshness."""

import json

from aiohttp import web

from services.api.caching import MicroCache
from services.api.exports import csv_cell
from services.api.geodata import point_feature, point_of
from shared.population import population_bounds

PLACES = {"communes": {"42218": [4.38, 45.43]}, "epci": {"244200770": [4.4, 45.4]}, "departements": {},
          "regions": {"84": [4.5, 45.5]}}  # fmt: skip


def test_a_map_point_is_valid_geojson_whatever_the_name():
    row = {"id": 'X"1', "name": "Saint-Étienne </script>", "type": "COM", "publishes": True, "obligated": None,
           "insee_code": "42218"}  # fmt: skip
    feature = json.loads(point_feature(row, PLACES) or "")
    assert feature["geometry"] == {"type": "Point", "coordinates": [4.38, 45.43]}
    assert feature["properties"] == {"id": 'X"1', "name": "Saint-Étienne </script>", "type": "COM",
                                     "publishes": True, "obligated": None}  # fmt: skip


def test_organisations_are_placed_by_their_kind():
    assert point_of({"id": "244200770", "type": "MET", "siren": "244200770"}, PLACES) == [4.4, 45.4]
    assert point_of({"id": "REG-84", "type": "REG", "region": "84"}, PLACES) == [4.5, 45.5]
    assert point_of({"id": "x", "type": "OACT"}, PLACES) is None


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
