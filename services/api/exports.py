"""Whole downloads of a filtered list, streamed: CSV, JSON or GeoJSON, written as rows arrive from a
database cursor, so memory stays flat whatever the selection's size."""

import csv
import io
import json
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from aiohttp import web

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "geojson": "application/geo+json",
}
CHUNK_ROWS = 500


def csv_cell(value: Any) -> Any:
    """Lists joined, nested objects as JSON; text that a spreadsheet would run as a formula is quoted
    with a leading apostrophe (CSV injection)."""
    if isinstance(value, list):
        value = "|".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


class CsvWriter:
    def __init__(self, columns: list[str], separator: str) -> None:
        self.columns = columns
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, delimiter=separator, lineterminator="\r\n")

    def header(self) -> bytes:
        self.writer.writerow(self.columns)
        return self._flush(prefix="\ufeff")  # the BOM tells spreadsheets it is UTF-8

    def rows(self, items: Iterable[dict[str, Any]]) -> bytes:
        for item in items:
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
) -> web.StreamResponse:
    """Write `batches` of rows as `fmt`; GeoJSON keeps the rows `to_feature` can place."""
    response = web.StreamResponse(
        headers={
            "Content-Type": CONTENT_TYPES[fmt],
            "Content-Disposition": f'attachment; filename="{filename}.{fmt}"',
            "Cache-Control": "no-cache",
        }
    )
    response.enable_compression()
    await response.prepare(request)
    if fmt == "csv":
        writer = CsvWriter(columns, ";" if request.query.get("sep") == ";" else ",")
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
