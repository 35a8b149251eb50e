"""One backend per portal family, all behind `HarvestBackend` (see base.py)."""

from services.harvester.backends.arcgis import ArcgisBackend
from services.harvester.backends.base import HarvestBackend
from services.harvester.backends.ckan import CkanBackend
from services.harvester.backends.csw import CswBackend
from services.harvester.backends.dcat import DcatBackend
from services.harvester.backends.ods import OdsBackend
from services.harvester.backends.udata import UdataBackend

BACKENDS: dict[str, type[HarvestBackend]] = {
    backend.family: backend
    for backend in (UdataBackend, OdsBackend, CkanBackend, DcatBackend, ArcgisBackend, CswBackend)
}


def backend_for(family: str) -> type[HarvestBackend]:
    try:
        return BACKENDS[family]
    except KeyError:
        raise ValueError(f"unknown portal family {family!r}; known: {', '.join(sorted(BACKENDS))}") from None
