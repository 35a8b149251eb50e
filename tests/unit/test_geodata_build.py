"""The map's geodata build (infra/geodata/build.py): TopoJSON decoded as its specification says, and
the overseas collectivités drawn where they are."""

import importlib.util
import json
from pathlib import Path

import shapely

from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("geodata_build", ROOT / "infra/geodata/build.py")
assert _spec and _spec.loader
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)


def test_the_specification_s_quantized_example_decodes_to_its_square():
    shapes = build.topojson_shapes(ROOT / "tests/data/topojson/specification-example.json", "example")
    square = shapes[""]  # the example's geometries have no id: its one polygon
    # Quantized to 1/9999 of the extent: within a thousandth of the unquantized square.
    assert all(abs(a - b) < 1e-3 for a, b in zip(square.bounds, (100.0, 0.0, 101.0, 1.0), strict=True))
    assert square.symmetric_difference(shapely.box(100, 0, 101, 1)).area < 1e-3


def test_a_reversed_arc_index_draws_the_same_ring(tmp_path):
    topology = json.loads((ROOT / "tests/data/topojson/specification-example.json").read_text())
    topology["objects"]["example"]["geometries"][2]["arcs"] = [[-2]]  # ~1: the second arc, reversed
    path = tmp_path / "reversed.json"
    path.write_text(json.dumps(topology))
    forward = build.topojson_shapes(ROOT / "tests/data/topojson/specification-example.json", "example")[""]
    assert build.topojson_shapes(path, "example")[""].equals(forward)


def _features(level: str) -> dict[str, dict]:
    collection = json.loads((Settings().geodata_dir / f"{level}.geojson").read_text(encoding="utf-8"))
    return {f["properties"]["code"]: f for f in collection["features"]}


# Where each collectivité lies (lon, lat), from its capital: Saint-Pierre, Gustavia, Marigot, Mata-Utu, Papeete, Nouméa.
CAPITALS = {
    "975": (-56.18, 46.78),
    "977": (-62.85, 17.90),
    "978": (-63.08, 18.07),
    "986": (-176.17, -13.28),
    "987": (-149.57, -17.54),
    "988": (166.45, -22.27),
}


def test_every_overseas_collectivite_has_a_contour_at_both_levels_where_it_lies():
    for level in ("departements", "regions"):
        features = _features(level)
        for code, (lon, lat) in CAPITALS.items():
            shape = shapely.from_geojson(json.dumps(features[code]["geometry"]))
            assert shape.distance(shapely.Point(lon, lat)) < 0.1, (level, code)  # its capital on or near its land
    points = json.loads((Settings().geodata_dir / "points.json").read_text())
    tahiti = shapely.Point(points["regions"]["987"]).distance(shapely.Point(CAPITALS["987"]))
    assert tahiti < 0.3  # a body of French Polynesia drawn on Tahiti, not on a far atoll
