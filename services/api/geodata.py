"""The map's geodata (built at set-up by infra/geodata/build.py) and where each organisation is drawn."""

import itertools
import json
from collections.abc import Mapping, Sequence
from functools import cache
from json.encoder import encode_basestring as quoted
from pathlib import Path
from typing import Any

from shared.vocabulary import EPCI_TYPES


class GeodataMissing(Exception):
    """The geodata was not built (run `make setup`)."""


@cache
def _load(directory: Path, name: str) -> Any:
    path = directory / name
    if not path.exists():
        raise GeodataMissing(f"{path} manque : lancer `make setup` pour construire les fonds de carte")
    return json.loads(path.read_text(encoding="utf-8"))


def points(directory: Path) -> dict[str, dict[str, list[float]]]:
    return _load(directory, "points.json")  # type: ignore[no-any-return]


def contours(directory: Path, level: str) -> dict[str, Any]:
    return _load(directory, f"{level}.geojson")  # type: ignore[no-any-return]


PLACE_FIELDS = ("type", "id", "siren", "insee_code", "departement", "region")


def place_of(
    kind: str | None, organization_id: str | None, siren: str | None, insee_code: str | None,
    departement: str | None, region: str | None,
) -> tuple[str, str] | None:  # fmt: skip
    """Where an organisation is drawn, as (layer of points.json, code): communes at their town hall,
    EPCI, départements and régions inside their contour; other bodies (syndicats, offices…) have no
    place of their own yet. Takes the PLACE_FIELDS one by one so columns can be zipped into it."""
    if kind == "COM":
        return "communes", insee_code or ""
    if kind in EPCI_TYPES:
        return "epci", siren or organization_id or ""
    if kind == "DEP":
        return "departements", insee_code or departement or ""
    if kind in ("REG", "COLOM"):
        return "regions", region or ""
    return None


def place_of_row(o: Mapping[str, Any]) -> tuple[str, str] | None:
    return place_of(*(o.get(field) for field in PLACE_FIELDS))


def point_of(organization: Mapping[str, Any], places: dict[str, dict[str, list[float]]]) -> list[float] | None:
    place = place_of_row(organization)
    return places[place[0]].get(place[1]) if place else None


@cache
def feature_heads(directory: Path) -> dict[str, dict[str, str]]:
    """Each place's GeoJSON feature up to its properties, written once: the map asks for tens of
    thousands of points at once, and only the properties change between answers."""
    return heads_of(points(directory))


def heads_of(places: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, str]]:
    return {
        layer: {
            code: f'{{"type":"Feature","geometry":{{"type":"Point","coordinates":[{x},{y}]}},"properties":'
            for code, (x, y) in coordinates.items()
        }
        for layer, coordinates in places.items()
    }


def point_feature(organization: Mapping[str, Any], heads: dict[str, dict[str, str]]) -> str | None:
    """The map's point for an organisation as GeoJSON text, with what its colour and popup need.
    Written directly, strings quoted by the json module's C encoder: a `json.dumps` per value costs
    ten times more."""
    place = place_of_row(organization)
    head = heads[place[0]].get(place[1]) if place else None
    if head is None:
        return None
    kind = organization["type"]
    return (
        f'{head}{{"id":{quoted(organization["id"])},"name":{quoted(organization["name"])},'
        f'"type":{quoted(kind) if kind else "null"},"publishes":{_literal(organization["publishes"])},'
        f'"obligated":{_literal(organization["obligated"])}}}}}'
    )


def _literal(flag: bool | None) -> str:
    return "null" if flag is None else "true" if flag else "false"


@cache
def coordinate_texts(directory: Path) -> dict[str, dict[str, tuple[str, str]]]:
    """Each place's longitude and latitude as JSON text, written once (a float's repr is most of the
    cost of writing tens of thousands of points)."""
    return texts_of(points(directory))


def texts_of(places: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, tuple[str, str]]]:
    return {layer: {code: (repr(x), repr(y)) for code, (x, y) in coordinates.items()}
            for layer, coordinates in places.items()}  # fmt: skip


def point_columns(columns: Mapping[str, Sequence[Any]], coordinates: dict[str, dict[str, tuple[str, str]]]) -> str:
    """The map's points as JSON columns, one list per property and `lon`, `lat` apart: what the
    front end loads, a third of the GeoJSON's size for the same points (less to compress, send and
    parse). `columns` holds one list per field of the query (`repository.map_columns`); the text is
    written column by column (zip, compress, join) with pre-written coordinates and the json
    module's C string quoting, not built as objects and dumped."""
    where = [
        coordinates[place[0]].get(place[1]) if place else None
        for place in map(place_of, *(columns[field] for field in PLACE_FIELDS))
    ]
    placed = [point is not None for point in where]
    located = [point for point in where if point is not None]

    def texts(name: str) -> str:
        return ",".join(map(quoted, itertools.compress(columns[name], placed)))

    def flags(name: str) -> str:
        return ",".join(map(_literal, itertools.compress(columns[name], placed)))

    return (
        f'{{"id":[{texts("id")}],"name":[{texts("name")}],"type":[{texts("type")}],'
        f'"publishes":[{flags("publishes")}],"obligated":[{flags("obligated")}],'
        f'"lon":[{",".join(p[0] for p in located)}],"lat":[{",".join(p[1] for p in located)}],'
        f'"unplaced":{len(where) - len(located)}}}'
    )


@cache
def contour_heads(directory: Path, level: str) -> list[tuple[str, str]]:
    """Each area's code and its GeoJSON feature up to the indicator's value, written once (the
    geometry is most of the answer and never changes)."""
    return [
        (
            f["properties"]["code"],
            '{"type":"Feature","geometry":' + json.dumps(f["geometry"], separators=(",", ":")) + ',"properties":'
            + json.dumps(f["properties"], ensure_ascii=False, separators=(",", ":"))[:-1],
        )
        for f in contours(directory, level)["features"]
    ]  # fmt: skip


def coloured(directory: Path, level: str, values: dict[str, Any], indicator: str) -> str:
    """The contours as GeoJSON text, each area with the indicator's name and its `value` (null when
    unknown)."""
    tail = f',"indicator":{json.dumps(indicator, ensure_ascii=False)},"value":'
    features = ",".join(
        f"{head}{tail}{json.dumps(values.get(code))}}}}}" for code, head in contour_heads(directory, level)
    )
    return f'{{"type":"FeatureCollection","features":[{features}]}}'


def preload(directory: Path) -> None:
    """Read the geodata and encode the contours and coordinates once at start, not in the first
    visitor's request (the GeoJSON points' feature heads wait for their first request: the front end
    uses the columns)."""
    try:
        coordinate_texts(directory)
        for level in ("regions", "departements"):
            contour_heads(directory, level)
    except GeodataMissing:
        pass  # answered with a 503 and the way to build it, request by request
