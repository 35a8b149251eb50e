"""Totals of the lists' selections, counted once per selection and version of the read models.

A page of a list is a walk down an index to its rows; its total would be a count of the whole
selection on every page (35,000 communes, 200,000 datasets). The total of a selection is kept with the
version of the indicators' projection it was counted at (every change of the lists' read models bumps
it) and counted again once that version has moved, so it is exact as of that version. The version is
read at most once per VERSION_SECONDS: a kept total may lag a change by that much. Answers say whether
their total was counted for them or kept (`total_cached`).

Counting is exact where it is cheap. Where PostgreSQL's planner expects a selection of more than
ESTIMATED_FROM datasets (a format, a licence, a date long ago: 25,000 to 160,000 rows, 10 to 190 ms
to count under load), the total is its estimate, and the answer says so (`total_exact: false`).
"""

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import NamedTuple

import asyncpg

from services.api import repository

VERSION_SECONDS = 1.0
ESTIMATED_FROM = 5_000
ENTRIES = 20_000  # selections kept (a few dozen bytes each)


class Counted(NamedTuple):
    value: int
    exact: bool  # False: the planner's estimate of a large selection


class Totals:
    def __init__(self, version_seconds: float = VERSION_SECONDS, entries: int = ENTRIES) -> None:
        self.version_seconds = version_seconds
        self.entries = entries
        self._items: OrderedDict[Hashable, tuple[Counted, int]] = OrderedDict()  # selection -> (total, version)
        self._version = -1
        self._read_at = float("-inf")

    async def total(
        self, conn: asyncpg.Connection, selection: Hashable, count: Callable[[], Awaitable[Counted]]
    ) -> tuple[Counted, bool]:
        """The selection's total, and whether it was kept (True) or counted now (False)."""
        version = await self.version(conn)
        kept = self._items.get(selection)
        if kept is not None and kept[1] == version:
            self._items.move_to_end(selection)
            return kept[0], True
        total = await count()
        self._items[selection] = (total, version)
        self._items.move_to_end(selection)
        while len(self._items) > self.entries:
            self._items.popitem(last=False)
        return total, False

    async def version(self, conn: asyncpg.Connection) -> int:
        if time.monotonic() - self._read_at >= self.version_seconds:
            self._version = await repository.list_version(conn)
            self._read_at = time.monotonic()
        return self._version
