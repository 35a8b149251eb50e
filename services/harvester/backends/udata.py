"""data.gouv.fr and other udata portals, API v1.

Pages `/api/1/datasets/` with `page_size=100` and follows the absolute `next_page` URL. The embedded
organisation has no `business_number_id`, so each organisation is fetched once per run for its
SIRET (SIREN = first nine digits). The dataset's `harvest` block gives the upstream origin.
"""

import hashlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from services.harvester.backends.base import HarvestAborted, HarvestBackend, HarvestItem
from services.harvester.fetch import FetchError
from services.harvester.mapping import content_hash, normalise_format, normalise_licence
from shared.events import DatasetDiscovered, Publisher, Resource, ResourceSchema, UpstreamOrigin
from shared.identifiers import siren_from

PAGE_SIZE = 100
MAX_PAGES = 100_000


class UdataBackend(HarvestBackend):
    family = "udata"

    async def items(self) -> AsyncIterator[HarvestItem]:
        self._sirens: dict[str, str | None] = {}
        url: str | None = f"{self.source.url.rstrip('/')}/api/1/datasets/?page=1&page_size={PAGE_SIZE}"
        seen_urls: set[str] = set()
        seen_pages: set[str] = set()
        while url:
            if url in seen_urls or len(seen_urls) >= MAX_PAGES:
                raise HarvestAborted(f"paging loop: {url} already read or more than {MAX_PAGES} pages")
            seen_urls.add(url)
            try:
                page = await self.fetcher.get_json(url)
            except FetchError as exc:
                raise HarvestAborted(exc.reason) from exc
            data = page.get("data") if isinstance(page, dict) else None
            if not isinstance(data, list):
                raise HarvestAborted(f"malformed page, no 'data' list: {url}")
            fingerprint = hashlib.sha256(repr([d.get("id") for d in data if isinstance(d, dict)]).encode()).hexdigest()
            if data and fingerprint in seen_pages:
                raise HarvestAborted(f"page repeats an earlier page: {url}")
            seen_pages.add(fingerprint)
            for raw in data:
                yield await self._item(raw)
            next_page = page.get("next_page")
            url = next_page if isinstance(next_page, str) and next_page else None

    async def _item(self, raw: Any) -> HarvestItem:
        remote_id = raw.get("id") if isinstance(raw, dict) else None
        if not remote_id:
            return HarvestItem(remote_id=None, error="dataset without id")
        try:
            return HarvestItem(remote_id=remote_id, event=await self._map(raw))
        except (ValidationError, ValueError, TypeError, KeyError, AttributeError) as exc:
            return HarvestItem(remote_id=remote_id, error=f"cannot map dataset: {exc}"[:1000])

    async def _map(self, raw: dict[str, Any]) -> DatasetDiscovered:
        organization = raw.get("organization") or raw.get("owner") or {}
        publisher = Publisher(
            name=(organization.get("name") or organization.get("slug") or "").strip() or "(inconnu)",
            remote_id=organization.get("id"),
            siren=await self._siren(organization.get("id")),
        )
        resources = [
            Resource(
                url=r["url"],
                format=normalise_format(r.get("format")),
                schema=ResourceSchema(name=schema["name"], version=schema.get("version"))
                if (schema := r.get("schema") or {}).get("name")
                else None,
            )
            for r in raw.get("resources") or []
            if r.get("url")
        ]
        harvest = raw.get("harvest") or {}
        upstream = (
            UpstreamOrigin(
                backend=harvest.get("backend"),
                remote_id=harvest.get("remote_id"),
                remote_url=harvest.get("remote_url"),
                domain=harvest.get("domain"),
            )
            if harvest
            else None
        )
        fields = {
            "title": raw["title"],
            "description": raw.get("description"),
            "publisher": publisher,
            "licence": normalise_licence(raw.get("license")),
            "themes": [],
            "tags": list(raw.get("tags") or []),
            "resources": resources,
            "created": _date(raw.get("created_at")),
            "modified": _date(raw.get("last_modified") or raw.get("last_update")),
            "upstream": upstream,
            "remote_url": raw.get("page"),
        }
        return DatasetDiscovered(
            producer=self.run.producer,
            correlation_id=self.run.run_id,
            run_id=self.run.run_id,
            source_id=self.source.id,
            portal_kind=self.family,
            portal_url=self.source.url,
            remote_id=raw["id"],
            content_hash=content_hash(**fields),
            **fields,
        )

    async def _siren(self, organization_id: str | None) -> str | None:
        if not organization_id:
            return None
        if organization_id not in self._sirens:
            url = f"{self.source.url.rstrip('/')}/api/1/organizations/{organization_id}/"
            try:
                organization = await self.fetcher.get_json(url)
                self._sirens[organization_id] = siren_from(organization.get("business_number_id"))
            except FetchError:
                # Without the SIRET the publisher is matched by name later; not a reason to lose the item.
                self._sirens[organization_id] = None
        return self._sirens[organization_id]


def _date(raw: Any) -> datetime | None:
    if not raw:
        return None
    return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
