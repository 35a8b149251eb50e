"""The interface every portal family implements, after udata's harvest backends: the backend walks
the portal's catalogue and yields one `HarvestItem` per dataset, either an event or an item error;
a failure that stops the walk (a page that cannot be read, a paging loop) raises `HarvestAborted`."""

import hashlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.harvester.fetch import Fetcher, FetchError
from services.harvester.mapping import RecordOrigin
from services.harvester.repository import Source
from shared.events import MAX_REMOTE_ID_LENGTH, DatasetDiscovered, SerialisedEvent

MAX_PAGES = 20_000


@dataclass(frozen=True)
class RunContext:
    run_id: str
    mode: str  # full or incremental
    since: datetime | None = None  # incremental runs: only what changed after this moment


@dataclass(frozen=True)
class HarvestItem:
    remote_id: str | None
    dataset: SerialisedEvent | None = None  # its DatasetDiscovered, ready to publish
    error: str | None = None  # why the item could not be mapped
    audience: dict[str, int] | None = None  # what the portal counts of it (views, downloads...)

    @property
    def event(self) -> DatasetDiscovered | None:
        """The DatasetDiscovered, read back and validated against the contract."""
        return DatasetDiscovered.model_validate_json(self.dataset.payload) if self.dataset else None


@dataclass(frozen=True)
class ReuseItem:
    remote_id: str | None
    reuse: SerialisedEvent | None = None  # its ReuseDiscovered, ready to publish
    error: str | None = None


def counters(raw: Any) -> dict[str, int] | None:
    """A portal's counters as {metric: count}: numbers or numeric text ("37144", "4.0"), others left out."""
    if not isinstance(raw, dict):
        return None
    kept: dict[str, int] = {}
    for metric, value in raw.items():
        try:
            count = int(float(value))
        except (TypeError, ValueError, OverflowError):
            continue
        if count >= 0:
            kept[str(metric)] = count
    return kept or None


def checked_identifier(remote_id: Any, what: str) -> tuple[str | None, str | None]:
    """A record's identifier as text (None when blank), and why it cannot key the record (None when it can)."""
    kept = str(remote_id) if remote_id and str(remote_id).strip() else None
    if kept is None:
        return None, f"{what} without an identifier"
    if len(kept) > MAX_REMOTE_ID_LENGTH:
        return kept, f"identifier longer than {MAX_REMOTE_ID_LENGTH} characters"
    return kept, None


class HarvestAborted(Exception):
    """The walk cannot go on; what was yielded before stays valid but the run is not complete."""


def malformed(url: str, what: str = "no list of datasets") -> HarvestAborted:
    return HarvestAborted(f"malformed page ({what}): {url}")


class PageGuard:
    """Stops endless paging: a URL read twice, a page with the same items as an earlier one, or
    more pages than any real portal has."""

    def __init__(self, max_pages: int = MAX_PAGES) -> None:
        self.max_pages = max_pages
        self.urls: set[str] = set()
        self.fingerprints: set[str] = set()

    def visit(self, url: str) -> None:
        if url in self.urls:
            raise HarvestAborted(f"paging loop: {url} was already read")
        if len(self.urls) >= self.max_pages:
            raise HarvestAborted(f"more than {self.max_pages} pages: stopped")
        self.urls.add(url)

    def check_items(self, ids: Iterable[Any], url: str) -> None:
        listed = [str(i) for i in ids]
        if not listed:
            return
        fingerprint = hashlib.sha256("\x1f".join(listed).encode()).hexdigest()
        if fingerprint in self.fingerprints:
            raise HarvestAborted(f"page repeats an earlier page: {url}")
        self.fingerprints.add(fingerprint)


class HarvestBackend(ABC):
    family: str

    def __init__(self, fetcher: Fetcher, source: Source, run: RunContext) -> None:
        self.fetcher = fetcher
        self.source = source
        self.run = run

    @abstractmethod
    def items(self) -> AsyncIterator[HarvestItem]:
        """Yield every dataset of the source (or, in an incremental run, every one changed since)."""

    async def reuses(self) -> AsyncIterator[ReuseItem]:
        """Yield every reuse the portal lists, after its datasets (families whose API carries none: nothing)."""
        return
        yield

    @staticmethod
    def reuse_item(remote_id: Any, build: Callable[[], SerialisedEvent]) -> ReuseItem:
        """Map one reuse, capturing its failure as an item error."""
        kept, unusable = checked_identifier(remote_id, "reuse")
        if unusable:
            return ReuseItem(remote_id=kept, error=unusable)
        try:
            return ReuseItem(remote_id=kept, reuse=build())
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return ReuseItem(remote_id=kept, error=f"cannot map the reuse: {exc}"[:1000])

    async def get_json(self, url: str) -> Any:
        try:
            return await self.fetcher.get_json(url)
        except FetchError as exc:
            raise HarvestAborted(exc.reason) from exc

    @staticmethod
    def item(remote_id: Any, build: Callable[[], SerialisedEvent], audience: Any = None) -> HarvestItem:
        """Map one record, capturing its failure as an item error rather than stopping the run;
        `audience`: the portal's counters of it, the non-negative integers kept."""
        kept, unusable = checked_identifier(remote_id, "dataset")
        if unusable:
            return HarvestItem(remote_id=kept, error=unusable)
        try:
            return HarvestItem(remote_id=kept, dataset=build(), audience=counters(audience))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:  # TypeError: not writable as JSON
            return HarvestItem(remote_id=kept, error=f"cannot map the dataset: {exc}"[:1000])

    def record_origin(self, remote_id: str) -> RecordOrigin:
        """Where this run sees the record `remote_id`."""
        return RecordOrigin(
            run_id=self.run.run_id, source_id=self.source.id, portal_kind=self.family, portal_url=self.source.url,
            remote_id=remote_id, territory=self.source.departement, owner=self.source.owner_organization,
        )  # fmt: skip
