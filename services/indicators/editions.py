"""The files of a yearly edition: its organisations with their indicators, the indicators of the
nation, the régions, the départements and the types, and the live datasets, as CSV in the exports'
form (shared/tables.py), each with its Table Schema, and a data package that lists them with their
sizes and SHA-256 hashes. Pure: `edition_files` writes bytes from rows; shared/editions.py publishes.
"""

import csv
import hashlib
import io
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from shared import tables

ORGANIZATIONS, INDICATORS, DATASETS = "organizations", "indicators", "datasets"
# The datasets as the indicators service keeps them: what the live export adds (creation dates, the
# portal records) is the registry's.
DATASET_COLUMNS = ["id", "organization_id", "title", "licence", "formats", "schemas", "themes", "modified", "portals"]
INDICATOR_SCOPES = ("national", "region", "departement", "type")  # the organisations' are in their own file


def csv_bytes(columns: list[str], rows: Iterable[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buffer.getvalue().encode("utf-8")


def _cell(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else tables.csv_cell(value)


def organization_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each organisation with the edition's values: its datasets, whether it published, its shares."""
    listed = []
    for row in rows:
        values = row.get("values") or {}
        listed.append({
            **{c: row.get(c) for c in tables.ORGANIZATION_COLUMNS if c in row},
            "datasets": int(values.get("datasets") or 0),
            "publishes": bool(values.get("publishes")),
            **{name: values.get(name) for name in tables.EXPORT_INDICATORS},
        })  # fmt: skip
    return listed


def indicator_rows(rows: Iterable[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """The columns and rows of the indicators' file: a row per scope, a column per indicator."""
    flat = [{"scope": r["scope"], "id": r["scope_id"], "computed_at": r["taken_at"], **r["values"]} for r in rows]
    return ["scope", "id", "computed_at", *sorted({k for r in rows for k in r["values"]})], flat


def edition_files(
    year: int,
    taken_at: datetime,
    organizations: list[dict[str, Any]],
    indicators: list[dict[str, Any]],
    datasets: list[dict[str, Any]],
) -> dict[str, bytes]:
    """Every file of the edition but its checksums, by name."""
    indicator_columns, indicator_table = indicator_rows(indicators)
    datasets_schema = tables.datasets_schema(DATASET_COLUMNS)
    contents = {
        ORGANIZATIONS: (csv_bytes(tables.ORGANIZATION_COLUMNS, organization_rows(organizations)),
                        tables.organizations_schema(), "Organisations et leurs indicateurs"),
        INDICATORS: (csv_bytes(indicator_columns, indicator_table), tables.indicators_schema(indicator_columns),
                     "Indicateurs de la France, des régions, des départements et des types d'organisation"),
        DATASETS: (csv_bytes(DATASET_COLUMNS, datasets), datasets_schema, "Jeux de données publiés"),
    }  # fmt: skip
    files: dict[str, bytes] = {}
    resources = []
    for name, (body, schema, title) in contents.items():
        files[f"{name}.csv"] = body
        files[f"{name}.schema.json"] = _json(schema)
        resources.append({
            "name": name, "title": title, "path": f"{name}.csv", "format": "csv", "mediatype": "text/csv",
            "encoding": "utf-8", "bytes": len(body), "hash": f"sha256:{hashlib.sha256(body).hexdigest()}",
            "schema": f"{name}.schema.json",
        })  # fmt: skip
    files["datapackage.json"] = _json({
        "name": f"observatoire-open-data-des-territoires-edition-{year}",
        "title": f"Observatoire de l'open data des territoires, édition {year}",
        "description": f"Les valeurs du {taken_at.date().isoformat()}, jour de l'édition {year} ; ces fichiers ne "
        "changent plus.",
        "version": str(year),
        "created": taken_at.isoformat(),
        "licenses": [{"name": "etalab-2.0", "path": tables.LICENCE_URL, "title": tables.LICENCE}],
        "resources": resources,
    })  # fmt: skip
    return files


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1).encode("utf-8")
