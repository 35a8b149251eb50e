"""One backend per portal family, all behind `HarvestBackend` (see base.py)."""

from services.harvester.backends.base import HarvestBackend
from services.harvester.backends.udata import UdataBackend

BACKENDS: dict[str, type[HarvestBackend]] = {UdataBackend.family: UdataBackend}


def backend_for(family: str) -> type[HarvestBackend]:
    try:
        return BACKENDS[family]
    except KeyError:
        raise ValueError(f"unknown portal family {family!r}; known: {', '.join(sorted(BACKENDS))}") from None
