"""The rows of the exports, by batches: keyset pages of the list's order in one snapshot (a page is a
walk down the index of its order, where a cursor over the whole selection is planned for all its rows)."""

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg

from services.api.repository import LIST_COLUMNS, WITH_VALUES
from services.api.selections import DATASET_KEYS, DatasetFilter, OrganizationFilter, after_clause, order_by, sort_keys
from shared.tables import EXPORT_INDICATORS

CHUNK = 500  # rows per batch of an export


async def _batches(conn: asyncpg.Connection, sql: str, args: list[Any]) -> AsyncIterator[list[asyncpg.Record]]:
    """Rows of a query by batches of CHUNK rows, from a server-side cursor (flat memory)."""
    async with conn.transaction(readonly=True):
        batch: list[asyncpg.Record] = []
        async for row in conn.cursor(sql, *args, prefetch=CHUNK):
            batch.append(row)
            if len(batch) == CHUNK:
                yield batch
                batch = []
        if batch:
            yield batch


async def _keyset_batches(
    conn: asyncpg.Connection,
    query: Callable[[list[Any] | None], tuple[str, list[Any]]],
    keys: Callable[[asyncpg.Record], list[Any]],
) -> AsyncIterator[list[asyncpg.Record]]:
    """Rows by batches of CHUNK, each batch the next keyset page of `query` (its SQL and arguments
    after a row's sort keys), in one snapshot. A cursor over the whole query would be planned for all
    its rows (a sort of every row of the selection before the first: 180 to 350 ms), where a page is
    a walk down the index of its order."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        after = None
        while True:
            sql, args = query(after)
            rows = await conn.fetch(sql, *args)
            if rows:
                yield rows
            if len(rows) < CHUNK:
                return
            after = keys(rows[-1])


async def organization_batches(
    conn: asyncpg.Connection, where: OrganizationFilter, sort: str
) -> AsyncIterator[list[dict[str, Any]]]:
    indicators = ", ".join(f"v.\"values\"->'{name}' AS {name}" for name in EXPORT_INDICATORS)

    def query(after: list[Any] | None) -> tuple[str, list[Any]]:
        sql, order, args = where.query(sort, after)
        return f"SELECT {LIST_COLUMNS}, o.epci, {indicators} FROM {WITH_VALUES} WHERE {sql} ORDER BY {order}", args

    if sort == "relevance" and where.q:  # ranked by the text searched, of which few rows match
        batches = _batches(conn, *query(None))
    else:
        batches = _keyset_batches(conn, lambda after: _limited(query(after)), lambda r: sort_keys(dict(r), sort))
    async for rows in batches:
        yield [_decoded(r) for r in rows]


def _limited(query: tuple[str, list[Any]]) -> tuple[str, list[Any]]:
    return f"{query[0]} LIMIT {CHUNK}", query[1]


async def dataset_batches(conn: asyncpg.Connection, where: DatasetFilter) -> AsyncIterator[list[dict[str, Any]]]:
    def query(after: list[Any] | None) -> tuple[str, list[Any]]:
        selection = where.selection()
        if after is not None:
            after_clause(selection.where, DATASET_KEYS, after)
        sql, args = selection.where.built()
        return (
            f"""SELECT d.state, p.title, p.id
                   FROM ({selection.rows()} WHERE {sql}
                         ORDER BY {order_by(DATASET_KEYS)} LIMIT {CHUNK}) p
                   LEFT JOIN registry_read.datasets d ON d.id = p.id ORDER BY p.title, p.id""",
            args,
        )

    async for rows in _keyset_batches(conn, query, lambda r: [r["title"], r["id"]]):
        yield [json.loads(r["state"]) for r in rows if r["state"]]


def _decoded(row: asyncpg.Record) -> dict[str, Any]:
    return {k: json.loads(v) if k in EXPORT_INDICATORS and v is not None else v for k, v in row.items()}
