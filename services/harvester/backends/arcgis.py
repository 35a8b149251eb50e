"""ArcGIS Hub DCAT-US 1.1 feeds (`/api/feed/dcat-us/1.1.json`, formerly `/data.json`).

Read as plain JSON (the `@context` the feeds point to is broken). The feed is usually one document;
some producers page it with `?page=N`, so the next page is asked for until a 404, an empty page or a
page with the same identifiers. `remote_id` is `identifier` (an `item.html?id=...&sublayer=N` URL);
licences and descriptions are HTML and cleaned.
"""

from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from services.harvester.backends.base import HarvestAborted, HarvestBackend, HarvestItem, PageGuard, malformed
from services.harvester.fetch import FetchError
from services.harvester.mapping import discovered, publisher_of, resource
from shared.events import SerialisedEvent


class ArcgisBackend(HarvestBackend):
    family = "arcgis"

    async def items(self) -> AsyncIterator[HarvestItem]:
        guard = PageGuard()
        separator = "&" if "?" in self.source.url else "?"
        page = 1
        seen: set[str] = set()
        while True:
            url = self.source.url if page == 1 else f"{self.source.url}{separator}page={page}"
            guard.visit(url)
            try:
                feed = await self.fetcher.get_json(url)
            except FetchError as exc:
                if page > 1 and exc.reason == "HTTP 404":
                    return  # the end of a paged feed
                raise HarvestAborted(exc.reason) from exc
            datasets = feed.get("dataset") if isinstance(feed, dict) else None
            if not isinstance(datasets, list):
                raise malformed(url, "no dataset list")
            ids = _ids(datasets)
            if page > 1 and (not datasets or ids <= seen):
                return  # a single document answers every page the same
            guard.check_items(sorted(ids), url)
            seen |= ids
            for raw in datasets:
                yield self.item(raw.get("identifier") if isinstance(raw, dict) else None, partial(self._map, raw))
            page += 1

    def _map(self, raw: dict[str, Any]) -> SerialisedEvent:
        return discovered(self.record_origin(raw["identifier"]), **dcat_us_fields(raw))


def dcat_us_fields(raw: dict[str, Any]) -> dict[str, Any]:
    """What a DCAT-US 1.1 dataset says, as `discovered` takes it (the DCAT family reads such feeds too)."""
    publisher = raw["publisher"] if isinstance(raw.get("publisher"), dict) else {}
    return {
        "remote_url": raw.get("landingPage"),
        "publisher": publisher_of(name=(str(publisher.get("name") or "")).strip() or "(inconnu)"),
        "title": raw.get("title"),
        "description": raw.get("description"),
        "licence": raw.get("license") or raw.get("rights"),
        "themes": _strings(raw.get("theme")),
        "tags": _strings(raw.get("keyword")),
        "resources": [
            resource(
                d.get("downloadURL") or d.get("accessURL"),
                d.get("format") or d.get("mediaType"),
                d.get("conformsTo"),
            )
            for d in raw.get("distribution") or ()
            if isinstance(d, dict)
        ],
        "created": raw.get("issued"),
        "modified": raw.get("modified"),
    }


def _strings(value: Any) -> list[str]:
    """A list of strings where DCAT-US allows one string or a list."""
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value or () if isinstance(v, str | int | float)]


def _ids(datasets: list[Any]) -> set[str]:
    return {str(d.get("identifier")) for d in datasets if isinstance(d, dict)}
