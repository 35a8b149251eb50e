"""The map's geodata (built at set-up by infra/geodata/build.py) and where each organisation is drawn."""

import json
from collections.abc import Mapping
from functools import cache
from json.encoder import encode_basestring as quoted
from pathlib import Path
from typing import Any

EPCI_TYPES = frozenset({"CC", "CA", "CU", "MET", "EPT"})
LEVELS = ("regions", "departements", "epci")


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


def point_of(organization: Mapping[str, Any], places: dict[str, dict[str, list[float]]]) -> list[float] | None:
    """Communes at their town hall, EPCI, départements and régions inside their contour; other bodies
    (syndicats, offices…) have no place of their own yet."""
    kind = organization.get("type")
    if kind == "COM":
        return places["communes"].get(organization.get("insee_code") or "")
    if kind in EPCI_TYPES:
        return places["epci"].get(organization.get("siren") or organization["id"])
    if kind == "DEP":
        return places["departements"].get(organization.get("insee_code") or organization.get("departement") or "")
    if kind in ("REG", "COLOM"):
        return places["regions"].get(organization.get("region") or "")
    return None


def point_feature(organization: Mapping[str, Any], places: dict[str, dict[str, list[float]]]) -> str | None:
    """The map's point for an organisation as GeoJSON text, with what its colour and popup need.
    Written directly, strings quoted by the json module's C encoder: the map asks for tens of
    thousands at once, and a `json.dumps` per value costs ten times more."""
    point = point_of(organization, places)
    if point is None:
        return None
    kind = organization["type"]
    properties = (
        f'"id":{quoted(organization["id"])},"name":{quoted(organization["name"])},'
        f'"type":{quoted(kind) if kind else "null"},"publishes":{_literal(organization["publishes"])},'
        f'"obligated":{_literal(organization["obligated"])}'
    )
    geometry = f'{{"type":"Point","coordinates":[{point[0]},{point[1]}]}}'
    return f'{{"type":"Feature","geometry":{geometry},"properties":{{{properties}}}}}'


def _literal(flag: bool | None) -> str:
    return "null" if flag is None else "true" if flag else "false"


def coloured(collection: dict[str, Any], values: dict[str, Any], indicator: str) -> dict[str, Any]:
    """The contours with each area's value of the indicator (`value`, None when unknown)."""
    features = [
        {**f, "properties": {**f["properties"], "indicator": indicator, "value": values.get(f["properties"]["code"])}}
        for f in collection["features"]
    ]
    return {"type": "FeatureCollection", "features": features}
