"""data.gouv.fr and other udata portals, API v1.

Pages `/api/1/datasets/` with `page_size=100` and follows the absolute `next_page` URL. The embedded
organisation has no `business_number_id`, so each organisation is fetched once per run for its SIRET
(the consolidator takes the first nine digits). The `harvest` block gives the upstream origin.
Incremental runs sort by `-last_update` and stop at the first dataset older than the watermark.

A source whose URL ends with `/api/1/site/datasets.csv` is read from the site's daily export
instead: one `;`-separated file for the whole site (what a country-wide scan of data.gouv.fr
should use), with the organisations' SIRETs from `organizations.csv` and the files (URL, format,
schema) from `resources.csv` next to it (`dataset.id` links a file to its dataset).

Reuses come after the datasets: `/api/1/reuses/` paged the same way (each names its datasets as
objects with an `id`), or the export's `reuses.csv` (its `datasets` column: ids separated by commas;
its `url` is the reuse's page on the portal and `remote_url` the reuse itself, as udata's export
adapter names them).
"""

import csv
import io
from collections import defaultdict
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from services.harvester.backends.base import (
    HarvestAborted,
    HarvestBackend,
    HarvestItem,
    PageGuard,
    ReuseItem,
    malformed,
)
from services.harvester.fetch import FetchError
from services.harvester.mapping import discovered, parse_date, publisher_of, resource, reuse_discovered, upstream_of
from shared.events import SerialisedEvent
from shared.identifiers import siren_from

PAGE_SIZE = 100


class UdataBackend(HarvestBackend):
    family = "udata"

    async def items(self) -> AsyncIterator[HarvestItem]:
        self._sirets: dict[str, str | None] = {}
        if self._is_export():
            async for item in self._export():
                yield item
            return
        order = "&sort=-last_update" if self.run.since else ""
        async for raw in self._pages(f"/api/1/datasets/?page=1&page_size={PAGE_SIZE}{order}", "datasets"):
            if self.run.since and (modified := parse_date(_get(raw, "last_update"))) and modified < self.run.since:
                return  # sorted by last update: everything after this is older than the watermark
            if isinstance(raw, dict):
                await self._prefetch_siret(raw)
            yield self.item(_get(raw, "id"), partial(self._map, raw), _audience(_get(raw, "metrics") or {}))

    async def _pages(self, path: str, what: str) -> AsyncIterator[Any]:
        """Every object of an API v1 list, page after page by its absolute `next_page`."""
        url: str | None = f"{self.source.url.rstrip('/')}{path}"
        guard = PageGuard()
        while url:
            guard.visit(url)
            page = await self.get_json(url)
            data = page.get("data") if isinstance(page, dict) else None
            if not isinstance(data, list):
                raise malformed(url, f"no list of {what}")
            guard.check_items((d.get("id") for d in data if isinstance(d, dict)), url)
            for raw in data:
                yield raw
            next_page = page.get("next_page")
            url = next_page if isinstance(next_page, str) and next_page else None

    async def reuses(self) -> AsyncIterator[ReuseItem]:
        if self._is_export():
            beside = self.source.url.split("?", 1)[0].removesuffix("datasets.csv")
            try:
                rows = _csv_rows(await self.fetcher.get_document(beside + "reuses.csv"))
            except FetchError as exc:
                raise HarvestAborted(exc.reason) from exc
            for row in rows:
                if None in row or None in row.values():
                    yield ReuseItem(remote_id=row.get("id") or None, error="row whose fields do not match the columns")
                    continue
                yield self.reuse_item(row.get("id"), partial(self._map_reuse_csv, row))
            return
        async for raw in self._pages(f"/api/1/reuses/?page=1&page_size={PAGE_SIZE}", "reuses"):
            yield self.reuse_item(_get(raw, "id"), partial(self._map_reuse, raw))

    def _map_reuse(self, raw: dict[str, Any]) -> SerialisedEvent:
        datasets = [d.get("id") if isinstance(d, dict) else d for d in raw.get("datasets") or ()]
        return reuse_discovered(
            self.record_origin(raw["id"]), title=raw.get("title"), type=_type_id(raw.get("type")),
            url=raw.get("url"), remote_url=raw.get("page"), datasets=datasets,
            created=raw.get("created_at"), modified=raw.get("last_modified"),
        )  # fmt: skip

    def _map_reuse_csv(self, row: dict[str, str]) -> SerialisedEvent:
        return reuse_discovered(
            self.record_origin(row["id"]), title=row.get("title"), type=row.get("type"),
            url=row.get("remote_url"), remote_url=row.get("url"),
            datasets=(row.get("datasets") or "").split(","),
            created=row.get("created_at"), modified=row.get("last_modified"),
        )  # fmt: skip

    def _is_export(self) -> bool:
        return self.source.url.split("?", 1)[0].endswith("/api/1/site/datasets.csv")

    def _map(self, raw: dict[str, Any]) -> SerialisedEvent:
        organization = raw.get("organization") or _owner(raw.get("owner"))
        harvest = raw.get("harvest") or {}
        return discovered(
            self.record_origin(raw["id"]),
            remote_url=raw.get("page"),
            publisher=publisher_of(
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
            resources=[
                resource(r.get("url"), r.get("format") or r.get("mime"), r.get("schema"))
                for r in raw.get("resources") or ()
                if isinstance(r, dict)
            ],
            upstream=upstream_of(
                backend=harvest.get("backend"),
                remote_id=harvest.get("remote_id"),
                remote_url=harvest.get("remote_url"),
                domain=harvest.get("domain"),
            )
            if harvest
            else None,
        )

    async def _export(self) -> AsyncIterator[HarvestItem]:
        beside = self.source.url.split("?", 1)[0].removesuffix("datasets.csv")
        try:
            for row in _csv_rows(await self.fetcher.get_document(beside + "organizations.csv")):
                self._sirets[row.get("id", "")] = row.get("business_number_id") or None
        except FetchError:
            pass  # without SIRETs, publishers are matched by name
        self._resources: dict[str, list[dict[str, Any] | None]] = defaultdict(list)
        try:
            for row in _csv_rows(await self.fetcher.get_document(beside + "resources.csv")):
                schema = {"name": row.get("schema_name"), "version": row.get("schema_version") or None}
                self._resources[row.get("dataset.id", "")].append(
                    resource(row.get("url"), row.get("format") or row.get("mime"), schema)
                )
        except FetchError:
            pass  # the datasets are still known, without their files
        try:
            rows = _csv_rows(await self.fetcher.get_document(self.source.url))
        except FetchError as exc:
            raise HarvestAborted(exc.reason) from exc
        for row in rows:
            if None in row or None in row.values():  # more fields than columns, or fewer: values shifted
                yield HarvestItem(remote_id=row.get("id") or None, error="row whose fields do not match the columns")
                continue
            metrics = {k.removeprefix("metric."): v for k, v in row.items() if k and k.startswith("metric.")}
            yield self.item(row.get("id"), partial(self._map_csv, row), _audience(metrics))

    def _map_csv(self, row: dict[str, str]) -> SerialisedEvent:
        organization_id = row.get("organization_id") or None
        upstream = None
        if row.get("harvest.remote_id") or row.get("harvest.domain"):
            upstream = upstream_of(
                backend=row.get("harvest.backend") or None,
                remote_id=row.get("harvest.remote_id") or None,
                remote_url=row.get("harvest.remote_url") or None,
                domain=row.get("harvest.domain") or None,
            )
        return discovered(
            self.record_origin(row["id"]),
            remote_url=row.get("url") or None,
            publisher=publisher_of(  # a dataset a user owns has no organisation: its owner publishes it
                name=(row.get("organization") or row.get("owner") or "").strip() or "(inconnu)",
                remote_id=organization_id,
                siren=siren_from(self._sirets.get(organization_id or "")),
            ),
            title=row.get("title"),
            description=row.get("description"),
            licence=row.get("license"),
            tags=[t for t in (row.get("tags") or "").split(",") if t],
            created=row.get("created_at"),
            modified=row.get("last_modified"),
            resources=self._resources.get(row["id"], ()),
            upstream=upstream,
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


def _owner(user: Any) -> dict[str, Any]:
    """A dataset a user owns is published by that user: named by first and last name."""
    if not isinstance(user, dict):
        return {}
    name = " ".join(str(user.get(k) or "").strip() for k in ("first_name", "last_name")).strip()
    return {"name": name or user.get("slug"), "id": None}


AUDIENCE = {"views": "views", "resources_downloads": "downloads", "followers": "followers"}


def _audience(metrics: Any) -> dict[str, Any]:
    """udata's counters of a dataset (its API's `metrics`, its export's `metric.*`), by our names."""
    if not isinstance(metrics, dict):
        return {}
    return {ours: metrics[theirs] for theirs, ours in AUDIENCE.items() if theirs in metrics}


def _type_id(raw: Any) -> Any:
    """A reuse's type: an id, or (some udata versions) an object with its id and label."""
    return raw.get("id") if isinstance(raw, dict) else raw


def _get(raw: Any, key: str) -> Any:
    return raw.get(key) if isinstance(raw, dict) else None


def _csv_rows(document: tuple[bytes, str]) -> list[dict[str, str]]:
    text = document[0].decode("utf-8-sig", errors="replace")
    return list(csv.DictReader(io.StringIO(text), delimiter=";", quotechar='"'))
