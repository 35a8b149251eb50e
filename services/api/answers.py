"""How the public API answers: pages of a list with their totals and links, JSON written fast
(orjson), rows flattened for spreadsheets, points for the map."""

from collections.abc import AsyncIterator, Awaitable, Callable
from functools import cache
from typing import Any

import orjson
from aiohttp import web

import shared.asyncapi
from services.api import geodata
from services.api.totals import Counted


def paginated(
    request: web.Request,
    data: list[dict[str, Any]] | list[str],
    total: Counted,
    page: int,
    page_size: int,
    total_cached: bool,
    next_after: str | None,
) -> web.Response:
    """A page of a list: its rows (dicts, or JSON texts spliced as they are), the selection's total
    (`total_exact`: counted, or the planner's estimate of a large selection; `total_cached`: kept from
    an earlier count of the same selection at the same version of the data: totals.py), the next page
    by number, and by keyset (`next_after`, to pass as `after`: as fast deep in the list as at its
    start)."""
    if request.query.get("after"):  # pages by keyset have no number
        next_page = str(request.url.update_query(after=next_after)) if next_after else None
    else:
        more = page * page_size < total.value if total.exact else len(data) == page_size
        next_page = str(request.url.update_query(page=page + 1)) if more else None
    rows = ",".join(row if isinstance(row, str) else json_dumps(row) for row in data)
    envelope = json_dumps(
        {"page": None if request.query.get("after") else page, "page_size": page_size, "total": total.value,
         "total_exact": total.exact, "total_cached": total_cached, "next_page": next_page,
         "next_after": next_after}
    )  # fmt: skip
    return json_text('{"data":[' + rows + "]," + envelope[1:])


async def exactly(count: Awaitable[int]) -> Counted:
    return Counted(await count, True)


async def counted(count: Awaitable[tuple[int, bool]]) -> Counted:
    return Counted(*await count)


def dataset_row(state: dict[str, Any]) -> dict[str, Any]:
    """A canonical dataset flattened for a spreadsheet."""
    resources = state.get("resources", [])
    live = [s for s in state.get("sources", []) if not s.get("withdrawn_at")]
    return {
        **{k: state.get(k) for k in ("id", "organization_id", "title", "licence", "themes", "created", "modified")},
        "formats": sorted({r["format"] for r in resources if r.get("format")}),
        "schemas": sorted({r["schema"]["name"] for r in resources if r.get("schema")}),
        "portals": sorted({s["portal_url"] for s in live}),
        "sources": len(live),
    }


def organization_feature(row: dict[str, Any], places: dict[str, dict[str, list[float]]]) -> dict[str, Any] | None:
    point = geodata.point_of(row, places)
    if point is None:
        return None
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": point}, "properties": row}


async def mapped(
    batches: AsyncIterator[list[dict[str, Any]]], function: Callable[[dict[str, Any]], dict[str, Any]]
) -> AsyncIterator[list[dict[str, Any]]]:
    async for batch in batches:
        yield [function(item) for item in batch]


async def once(rows: list[dict[str, Any]]) -> AsyncIterator[list[dict[str, Any]]]:
    yield rows


@cache
def asyncapi_document() -> str:
    return shared.asyncapi.generate()


def json_text(body: str) -> web.Response:
    """An answer whose JSON was written as text (the map's large bodies)."""
    return web.Response(body=body.encode("utf-8"), content_type="application/json")


# orjson writes a page of organisations in a tenth of the standard library's time; dates and other
# values written with str(), as json.dumps(default=str) did.
JSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def json_dumps(body: Any) -> str:
    return orjson.dumps(body, default=str, option=JSON_OPTIONS).decode()


def json_response(body: Any) -> web.Response:
    return json_text(json_dumps(body))
