"""Whole downloads of a filtered list, streamed: CSV, JSON or GeoJSON, written as rows arrive from a
database cursor, so memory stays flat whatever the selection's size."""

import csv
import io
import json
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from aiohttp import web

from shared.tables import FRENCH_HEADERS, TYPE_LABELS, csv_cell

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "geojson": "application/geo+json",
}

FLAGS = {"obligated", "publishes", "on_local_portal", "on_national_portal"}  # 0/1 indicators read as yes/no


def french_cell(column: str, value: Any) -> Any:
    """A cell as a French spreadsheet reads it."""
    if value is None:
        return ""
    if isinstance(value, bool) or (column in FLAGS and value in (0, 1)):
        return "Oui" if value else "Non"
    if isinstance(value, float):
        return f"{value:.4g}".replace(".", ",")
    return csv_cell(value)


class CsvWriter:
    def __init__(self, columns: list[str], separator: str, french: bool = False) -> None:
        if french and "type" in columns:
            columns = [*columns[: columns.index("type") + 1], "type_label", *columns[columns.index("type") + 1 :]]
        self.columns = columns
        self.french = french
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, delimiter=";" if french else separator, lineterminator="\r\n")

    def header(self) -> bytes:
        self.writer.writerow([FRENCH_HEADERS.get(c, c) for c in self.columns] if self.french else self.columns)
        return self._flush(prefix="\ufeff")  # the BOM tells spreadsheets it is UTF-8

    def rows(self, items: Iterable[dict[str, Any]]) -> bytes:
        for item in items:
            if self.french:
                item = {**item, "type_label": TYPE_LABELS.get(item.get("type") or "", "")}
                self.writer.writerow([french_cell(c, item.get(c)) for c in self.columns])
            else:
                self.writer.writerow([csv_cell(item.get(c)) for c in self.columns])
        return self._flush()

    def _flush(self, prefix: str = "") -> bytes:
        text = prefix + self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text.encode("utf-8")


async def stream(
    request: web.Request,
    filename: str,
    fmt: str,
    batches: AsyncIterator[list[dict[str, Any]]],
    columns: list[str],
    to_feature: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None,
    schema_url: str | None = None,
) -> web.StreamResponse:
    """Write `batches` of rows as `fmt`; GeoJSON keeps the rows `to_feature` can place. The machine
    CSV names its Table Schema (`schema_url`) in a Link header."""
    headers = {
        "Content-Type": CONTENT_TYPES[fmt],
        "Content-Disposition": f'attachment; filename="{filename}.{fmt}"',
        "Cache-Control": "no-cache",
    }
    if schema_url and fmt == "csv" and request.query.get("lang") != "fr":
        headers["Link"] = f'<{schema_url}>; rel="describedby"; type="application/schema+json"'
    response = web.StreamResponse(headers=headers)
    response.enable_compression()
    await response.prepare(request)
    if fmt == "csv":
        french = request.query.get("lang") == "fr"
        writer = CsvWriter(columns, ";" if request.query.get("sep") == ";" else ",", french)
        await response.write(writer.header())
        async for batch in batches:
            await response.write(writer.rows(batch))
    else:
        opening, closing = ('{"type":"FeatureCollection","features":[', "]}") if fmt == "geojson" else ("[", "]")
        await response.write(opening.encode())
        first = True
        async for batch in batches:
            items = [f for f in map(to_feature, batch) if f] if fmt == "geojson" and to_feature else batch
            if not items:
                continue
            text = ",".join(json.dumps(i, ensure_ascii=False, default=str) for i in items)
            await response.write((text if first else "," + text).encode("utf-8"))
            first = False
        await response.write(closing.encode())
    await response.write_eof()
    return response
