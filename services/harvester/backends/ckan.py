"""CKAN Action API, `package_search`.

Asks for 1,000 rows (CKAN's usual cap, silently clamped lower by some portals) sorted `id asc` (stable
under concurrent edits) and pages by the number of results actually received, never by the rows
asked. CKAN reports errors in the body (`success: false`), sometimes with HTTP 200: the envelope is
checked, not only the status. Incremental runs add `fq=metadata_modified:[<watermark> TO *]`.
`remote_id` is the package id (a UUID), as data.gouv.fr's CKAN harvester records it.
"""

import asyncio
from collections.abc import AsyncIterator
from functools import partial
from typing import Any
from urllib.parse import quote

from services.harvester.backends.base import HarvestAborted, HarvestBackend, HarvestItem, PageGuard, malformed
from services.harvester.mapping import discovered, publisher_of, resource
from shared.events import SerialisedEvent

ROWS = 1000
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
            body = await self._search(url)
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

    def _map(self, raw: dict[str, Any]) -> SerialisedEvent:
        organization = raw.get("organization") or {}
        return discovered(
            **self.common(raw["id"]),
            remote_url=f"{self.base}/dataset/{raw.get('name') or raw['id']}",
            publisher=publisher_of(
                name=(organization.get("title") or organization.get("name") or "").strip()
                or (raw.get("author") or "(inconnu)"),
                remote_id=organization.get("id"),
            ),
            title=raw.get("title"),
            description=raw.get("notes"),
            licence=raw.get("license_id") or raw.get("license_title"),
            themes=[g.get("title") for g in raw.get("groups") or () if isinstance(g, dict)],
            tags=[t.get("name") for t in raw.get("tags") or () if isinstance(t, dict)],
            resources=[resource(r.get("url"), r.get("format"), r.get("schema")) for r in raw.get("resources") or ()],
            created=raw.get("metadata_created"),
            modified=raw.get("metadata_modified"),
        )


def _error(body: Any) -> str:
    if not isinstance(body, dict):
        return f"unexpected answer {str(body)[:80]!r}"
    error = body.get("error")
    if isinstance(error, dict):
        return f"{error.get('__type', 'error')}: {error.get('message', '')}".strip()
    return str(error or "success is not true")
