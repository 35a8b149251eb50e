"""The interface every portal family implements, after udata's harvest backends: the backend walks
the portal's catalogue and yields one `HarvestItem` per dataset, either an event or an item error;
a failure that stops the walk (a page that cannot be read, a paging loop) raises `HarvestAborted`."""

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass

from services.harvester.fetch import Fetcher
from services.harvester.repository import Source
from shared.events import DatasetDiscovered


@dataclass(frozen=True)
class RunContext:
    run_id: str
    mode: str
    producer: str = "harvester"


@dataclass(frozen=True)
class HarvestItem:
    remote_id: str | None
    event: DatasetDiscovered | None = None
    error: str | None = None  # why the item could not be mapped


class HarvestAborted(Exception):
    """The walk cannot go on; what was yielded before stays valid but the run is not complete."""


class HarvestBackend(ABC):
    family: str

    def __init__(self, fetcher: Fetcher, source: Source, run: RunContext) -> None:
        self.fetcher = fetcher
        self.source = source
        self.run = run

    @abstractmethod
    def items(self) -> AsyncIterator[HarvestItem]:
        """Yield every dataset of the source, in portal order."""
