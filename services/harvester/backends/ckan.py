"""CKAN Action API, `package_search`.

Asks for 1,000 rows (CKAN's usual cap, silently clamped lower by some portals) sorted `id asc` (stable
under concurrent edits) and pages by the number of results actually received, never by the rows
asked. CKAN reports errors in the body (`success: false`), sometimes with HTTP 200: the envelope is
checked, not only the status. Incremental runs add `fq=metadata_modified:[<watermark> TO *]`.
`remote_id` is the package id (a UUID), as data.gouv.fr's CKAN harvester records it.

DKAN portals answer the same API without `package_search` (404): the catalogue is then walked with
`package_list` and `package_show`, as udata's DKAN backend does.
"""

import asyncio
import re
from collections.abc import AsyncIterator
from functools import partial
from typing import Any
from urllib.parse import quote

from services.harvester.backends.base import HarvestAborted, HarvestBackend, HarvestItem, PageGuard, malformed
from services.harvester.fetch import FetchError
from services.harvester.mapping import discovered, publisher_of, resource
from shared.events import SerialisedEvent

ROWS = 1000
DKAN_DATE = re.compile(r"(\d{2})/(\d{2})/(\d{4}) - (\d{2}):(\d{2})")
SEARCH_ATTEMPTS = 3


class CkanBackend(HarvestBackend):
    family = "ckan"

    @property
    def base(self) -> str:
        return self.source.url.rstrip("/").removesuffix("/api/3/action/package_search").removesuffix("/api/3")

    async def items(self) -> AsyncIterator[HarvestItem]:
        guard = PageGuard()
        fq = ""
        if self.run.since:
            moment = self.run.since.strftime("%Y-%m-%dT%H:%M:%SZ")
            fq = "&fq=" + quote(f"metadata_modified:[{moment} TO *]", safe="")
        start = 0
        while True:
            url = f"{self.base}/api/3/action/package_search?rows={ROWS}&start={start}&sort=id%20asc{fq}"
            guard.visit(url)
            try:
                body = await self._search(url)
            except HarvestAborted as exc:
                if start == 0 and str(exc) == "HTTP 404" and not self.run.since:
                    async for item in self._dkan():
                        yield item
                    return
                raise
            result = body.get("result") or {}
            results, count = result.get("results"), result.get("count")
            if not isinstance(results, list) or not isinstance(count, int):
                raise malformed(url, "no result.count and result.results")
            guard.check_items((r.get("id") for r in results if isinstance(r, dict)), url)
            for raw in results:
                yield self.item(raw.get("id") if isinstance(raw, dict) else None, partial(self._map, raw))
            start += len(results)
            if not results or start >= count:
                return

    async def _dkan(self) -> AsyncIterator[HarvestItem]:
        """DKAN's CKAN-compatible API has no `package_search`: `package_list`, then `package_show` for each
        name (its `result` a list of one package). A package that cannot be fetched is an item error."""
        url = f"{self.base}/api/3/action/package_list"
        listing = await self.get_json(url)
        names = listing.get("result") if isinstance(listing, dict) else None
        if not isinstance(names, list):
            raise malformed(url, "no result list of package names")
        for name in dict.fromkeys(str(n) for n in names):
            show = f"{self.base}/api/3/action/package_show?id={quote(name, safe='')}"
            try:
                body = await self.fetcher.get_json(show)
            except FetchError as exc:
                # Its remote id (the package's UUID) is unknown: the run then withdraws nothing.
                yield HarvestItem(remote_id=None, error=f"package {name}: {exc.reason}"[:1000])
                continue
            result = body.get("result") if isinstance(body, dict) else None
            raw = result[0] if isinstance(result, list) and result else result
            package: dict[str, Any] = raw if isinstance(raw, dict) else {}
            yield self.item(package.get("id"), partial(self._map, package, dkan=True))

    async def _search(self, url: str) -> dict[str, Any]:
        """One page; CKAN's `success: false` (often a passing Solr failure) is asked again a few times."""
        for attempt in range(1, SEARCH_ATTEMPTS + 1):
            body = await self.get_json(url)
            if isinstance(body, dict) and body.get("success") is True:
                return body
            if attempt == SEARCH_ATTEMPTS:
                raise HarvestAborted(f"CKAN refused the search {SEARCH_ATTEMPTS} times: {_error(body)} ({url})")
            await asyncio.sleep(self.fetcher.policy.backoff_seconds * attempt)
        raise AssertionError("unreachable")

    def _map(self, raw: dict[str, Any], dkan: bool = False) -> SerialisedEvent:
        """A package; DKAN's groups are its publishers, CKAN's are themes."""
        organization = raw.get("organization") or {}
        groups = [g.get("title") for g in raw.get("groups") or () if isinstance(g, dict) and g.get("title")]
        publisher = organization.get("title") or organization.get("name") or (groups[0] if dkan and groups else None)
        return discovered(
            self.record_origin(raw["id"]),
            remote_url=f"{self.base}/dataset/{raw.get('name') or raw['id']}",
            publisher=publisher_of(
                name=(publisher or "").strip() or (raw.get("author") or "(inconnu)"),
                remote_id=organization.get("id"),
            ),
            title=raw.get("title"),
            description=raw.get("notes"),
            licence=raw.get("license_id") or raw.get("license_title"),
            themes=() if dkan else groups,
            tags=[t.get("name") for t in raw.get("tags") or () if isinstance(t, dict)],
            resources=[resource(r.get("url"), r.get("format"), r.get("schema")) for r in raw.get("resources") or ()],
            created=_date(raw.get("metadata_created")),
            modified=_date(raw.get("metadata_modified")),
        )


def _date(value: Any) -> Any:
    """DKAN writes dates the French way ("mar, 10/12/2019 - 09:23"); CKAN in ISO 8601."""
    match = DKAN_DATE.search(value) if isinstance(value, str) else None
    if match is None:
        return value
    day, month, year, hour, minute = match.groups()
    return f"{year}-{month}-{day}T{hour}:{minute}:00"


def _error(body: Any) -> str:
    if not isinstance(body, dict):
        return f"unexpected answer {str(body)[:80]!r}"
    error = body.get("error")
    if isinstance(error, dict):
        return f"{error.get('__type', 'error')}: {error.get('message', '')}".strip()
    return str(error or "success is not true")
