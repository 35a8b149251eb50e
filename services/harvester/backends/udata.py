"""data.gouv.fr and other udata portals, API v1.

Pages `/api/1/datasets/` with `page_size=100` and follows the absolute `next_page` URL. The embedded
organisation has no `business_number_id`, so each organisation is fetched once per run for its SIRET
(the consolidator takes the first nine digits). The `harvest` block gives the upstream origin.
Incremental runs sort by `-last_update` and stop at the first dataset older than the watermark.
"""

from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from services.harvester.backends.base import HarvestBackend, HarvestItem, PageGuard, malformed
from services.harvester.fetch import FetchError
from services.harvester.mapping import discovered, parse_date, resource
from shared.events import DatasetDiscovered, Publisher, UpstreamOrigin
from shared.identifiers import siren_from

PAGE_SIZE = 100


class UdataBackend(HarvestBackend):
    family = "udata"

    async def items(self) -> AsyncIterator[HarvestItem]:
        self._sirets: dict[str, str | None] = {}
        order = "&sort=-last_update" if self.run.since else ""
        url: str | None = f"{self.source.url.rstrip('/')}/api/1/datasets/?page=1&page_size={PAGE_SIZE}{order}"
        guard = PageGuard()
        while url:
            guard.visit(url)
            page = await self.get_json(url)
            data = page.get("data") if isinstance(page, dict) else None
            if not isinstance(data, list):
                raise malformed(url)
            guard.check_items((d.get("id") for d in data if isinstance(d, dict)), url)
            for raw in data:
                if self.run.since and (modified := parse_date(_get(raw, "last_update"))) and modified < self.run.since:
                    return  # sorted by last update: everything after this is older than the watermark
                if isinstance(raw, dict):
                    await self._prefetch_siret(raw)
                yield self.item(_get(raw, "id"), partial(self._map, raw))
            next_page = page.get("next_page")
            url = next_page if isinstance(next_page, str) and next_page else None

    def _map(self, raw: dict[str, Any]) -> DatasetDiscovered:
        organization = raw.get("organization") or raw.get("owner") or {}
        harvest = raw.get("harvest") or {}
        return discovered(
            **self.common(raw["id"]),
            remote_url=raw.get("page"),
            publisher=Publisher(
                name=(organization.get("name") or organization.get("slug") or "").strip() or "(inconnu)",
                remote_id=organization.get("id"),
                siren=siren_from(self._sirets.get(organization.get("id") or "")),
            ),
            title=raw.get("title"),
            description=raw.get("description"),
            licence=raw.get("license"),
            tags=raw.get("tags") or (),
            created=raw.get("created_at"),
            modified=raw.get("last_modified") or raw.get("last_update"),
            resources=[resource(r.get("url"), r.get("format"), r.get("schema")) for r in raw.get("resources") or ()],
            upstream=UpstreamOrigin(
                backend=harvest.get("backend"),
                remote_id=harvest.get("remote_id"),
                remote_url=harvest.get("remote_url"),
                domain=harvest.get("domain"),
            )
            if harvest
            else None,
        )

    async def _prefetch_siret(self, raw: dict[str, Any]) -> None:
        organization_id = (raw.get("organization") or {}).get("id")
        if not organization_id or organization_id in self._sirets:
            return
        url = f"{self.source.url.rstrip('/')}/api/1/organizations/{organization_id}/"
        try:
            organization = await self.fetcher.get_json(url)
            self._sirets[organization_id] = organization.get("business_number_id")
        except (FetchError, AttributeError):
            # Without the SIRET the publisher is matched by name: no reason to lose the item.
            self._sirets[organization_id] = None


def _get(raw: Any, key: str) -> Any:
    return raw.get(key) if isinstance(raw, dict) else None
