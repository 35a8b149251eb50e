"""OpenDataSoft Explore API v2.1.

Pages `/catalog/datasets` 100 at a time (the maximum), `offset + limit` never above 10,000 (the
portals refuse `offset + limit > 10000`: the last page may be shorter). A catalogue of more than
10,000 datasets is read whole from `/catalog/exports/json` instead, which has no such window; a
source whose URL is that export is read from it directly. Incremental runs filter `where=modified >=
date'...'`. Resource URLs are the dataset's exports (`/catalog/datasets/<id>/exports/<format>`) and
its attachments (`odsfile://<file>` in v2.1, read from
`/api/v2/catalog/datasets/<id>/attachments/<attachment id>`); federated datasets keep their
`source_domain` as upstream origin; `remote_id` is the dataset's `/explore/dataset/<id>/` URL, the
identifier data.gouv.fr records when it harvests ODS portals. The export's records list no
attachments (only `has_attachments`): there, a dataset has its exports only.
"""

from collections.abc import AsyncIterator
from functools import partial
from typing import Any
from urllib.parse import quote

from services.harvester.backends.base import HarvestBackend, HarvestItem, PageGuard, malformed
from services.harvester.mapping import discovered, publisher_of, resource, upstream_of
from shared.events import SerialisedEvent

LIMIT = 100
WINDOW = 10_000
EXPORT_FORMATS = ("csv", "json", "geojson")


class OdsBackend(HarvestBackend):
    family = "ods"

    @property
    def api(self) -> str:
        return f"{self.site}/api/explore/v2.1/catalog"

    @property
    def site(self) -> str:
        """The portal's public address (the source URL without the API path)."""
        return self.source.url.rstrip("/").split("/api/explore/")[0]

    def _filter(self) -> str:
        if not self.run.since:
            return ""
        moment = self.run.since.replace(tzinfo=None).isoformat(timespec="seconds")
        return "&where=" + quote(f"modified >= date'{moment}'") + "&order_by=" + quote("modified desc")

    async def items(self) -> AsyncIterator[HarvestItem]:
        if self.source.url.split("?", 1)[0].rstrip("/").endswith("/catalog/exports/json"):
            async for item in self._export():  # the operator registered the whole-catalogue export
                yield item
            return
        guard = PageGuard()
        offset, total = 0, None
        while total is None or offset < total:
            url = f"{self.api}/datasets?limit={min(LIMIT, WINDOW - offset)}&offset={offset}{self._filter()}"
            guard.visit(url)
            page = await self.get_json(url)
            results = page.get("results") if isinstance(page, dict) else None
            if not isinstance(results, list) or not isinstance(page.get("total_count"), int):
                raise malformed(url, "no total_count and results")
            total = page["total_count"]
            if total > WINDOW:
                async for item in self._export():
                    yield item
                return
            guard.check_items((r.get("dataset_id") for r in results if isinstance(r, dict)), url)
            if not results:
                return
            for raw in results:
                yield self.item(_id(raw), partial(self._map, raw), _audience(raw))
            offset += len(results)

    async def _export(self) -> AsyncIterator[HarvestItem]:
        url = f"{self.api}/exports/json?{self._filter().lstrip('&')}"
        records = await self.get_json(url)
        if not isinstance(records, list):
            raise malformed(url, "the export is not a list")
        for raw in records:
            yield self.item(_id(raw), partial(self._map, raw), _audience(raw))

    def _attachment_url(self, dataset_id: str, attachment: dict[str, Any]) -> Any:
        """v2.1 names an attachment `odsfile://<file>`: it is downloaded from the API by its id."""
        url = attachment.get("url")
        if isinstance(url, str) and url.startswith("odsfile://") and attachment.get("id"):
            return f"{self.site}/api/v2/catalog/datasets/{dataset_id}/attachments/{attachment['id']}"
        return url

    def _map(self, raw: dict[str, Any]) -> SerialisedEvent:
        metas = (raw.get("metas") or {}).get("default") or {}
        dcat = (raw.get("metas") or {}).get("dcat") or {}  # the export's dates of creation are there
        dataset_id = raw["dataset_id"]
        exports = f"{self.api}/datasets/{dataset_id}/exports"
        resources = [resource(f"{exports}/{fmt}", fmt) for fmt in EXPORT_FORMATS] if raw.get("has_records") else []
        resources += [
            resource(self._attachment_url(dataset_id, a), a.get("mimetype")) for a in raw.get("attachments") or ()
        ]
        # `source_domain` is the source domain's name ("rte"), `source_domain_address` where it is.
        origin = metas.get("source_domain_address") or metas.get("source_domain")
        federated = metas.get("federated") and origin
        return discovered(
            self.record_origin(f"{self.site}/explore/dataset/{dataset_id}/"),
            remote_url=f"{self.site}/explore/dataset/{dataset_id}/",
            publisher=publisher_of(name=(metas.get("publisher") or "").strip() or "(inconnu)"),
            title=metas.get("title"),
            description=metas.get("description"),
            licence=metas.get("license"),
            themes=metas.get("theme") or (),
            tags=metas.get("keyword") or (),
            resources=resources,
            created=metas.get("created") or dcat.get("created") or dcat.get("issued"),
            modified=metas.get("modified"),
            upstream=upstream_of(backend="ODS", domain=origin, remote_id=metas.get("source_dataset"))
            if federated
            else None,
        )


def _id(raw: Any) -> Any:
    return raw.get("dataset_id") if isinstance(raw, dict) else None


def _audience(raw: Any) -> dict[str, Any]:
    """OpenDataSoft's counters of a dataset (`metas.explore`): downloads of its exports, API calls."""
    explore = ((raw.get("metas") or {}).get("explore") or {}) if isinstance(raw, dict) else {}
    if not isinstance(explore, dict):
        return {}
    return {ours: explore[theirs] for theirs, ours in (("download_count", "downloads"), ("api_call_count", "api_calls"))
            if theirs in explore}  # fmt: skip
