"""Fixtures for the whole suite.

Integration tests run against the real Kafka broker and PostgreSQL, started here when missing. Each
test session works in its own database and under its own topic prefix, so it never touches a system
started by `make up` on the same machine.
"""

import secrets
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from shared.auth import token_hash
from shared.bootstrap import bootstrap_database, delete_topics, drop_database, ensure_topics
from shared.identifiers import with_luhn_digit
from shared.settings import Settings
from simulated_portals.catalogue import PortalSpec, Publisher, World, build_world, stable_hex
from tests.support.db import connect_as
from tests.support.portals import serving
from tests.support.processes import ServiceProcess, all_services, ensure_infrastructure, isolated_settings, run_module
from tests.support.quirky import QUIRKY_PORTALS
from tests.support.referentiel import load_and_wait

SESSION = secrets.token_hex(3)


@pytest.fixture(scope="session")
def settings() -> Settings:
    # Withdrawals without grace period, so that tests see them at once.
    # The simulated data.gouv.fr counts as the national portal for the channel indicators.
    # Every test submits its contributions from 127.0.0.1, the fuzz test hundreds: room for all of them.
    # Events up to 4 MiB, so that a test of a larger one needs 5 MB rather than 17.
    base = isolated_settings(
        "test", 18000, retry_backoff_seconds=0.05, schedule_check_seconds=1.0, withdrawal_grace_seconds=0,
        contributions_per_client=1000, max_event_bytes=4 * 2**20,
    )  # fmt: skip
    simulated = [f"http://{base.http_host}:{base.simulator_port + n}/udata/datagouv" for n in (0, 1)]
    return base.model_copy(update={"national_portals": ",".join(["https://www.data.gouv.fr", *simulated])})


@pytest.fixture(scope="session")
async def infrastructure(settings: Settings) -> AsyncIterator[Settings]:
    ensure_infrastructure()
    await bootstrap_database(settings)
    await ensure_topics(settings)
    yield settings
    await drop_database(settings)
    await delete_topics(settings)
    shutil.rmtree(settings.editions_dir, ignore_errors=True)  # the yearly editions a test published


@pytest.fixture(scope="session")
def log_dir() -> Path:
    path = Path("var/test-logs") / SESSION
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
async def services(infrastructure: Settings, log_dir: Path) -> AsyncIterator[dict[str, ServiceProcess]]:
    processes = all_services(infrastructure, log_dir)
    for process in processes.values():
        process.start()
    try:
        for process in processes.values():
            await process.wait_ready()
        yield processes
    finally:
        for process in processes.values():
            process.stop()


def _udata_publisher(name: str, siren_prefix: str | None) -> Publisher:
    siret = f"{with_luhn_digit(siren_prefix)}00012" if siren_prefix else None
    return Publisher(name, siret, stable_hex("thin", name))


# A udata portal for the thin slice: two publishers with a SIRET, one without, 7 datasets each.
THIN_PORTAL = PortalSpec(
    family="udata",
    slug="thin",
    size=21,
    seed=7,
    publishers=(
        _udata_publisher("Commune de Sixt-sur-Aff", "21350328"),
        _udata_publisher("Rennes Métropole", "24350013"),
        _udata_publisher("Association des amis du patrimoine", None),
    ),
)


@pytest.fixture(scope="session")
def world(settings: Settings) -> World:
    """The simulated portals of the session: one per family (and data.gouv.fr), plus the thin slice's."""
    small = build_world(portals=6, datasets_per_portal=40, seed=11, referentiel=settings.referentiel_path)
    return World([*small.portals, THIN_PORTAL, *QUIRKY_PORTALS])


@pytest.fixture(scope="session")
async def portal(settings: Settings, world: World) -> AsyncIterator[str]:
    """The simulated portals, served over HTTP on the simulator port; yields their base URL."""
    async with serving(world, settings) as url:
        yield url


@pytest.fixture(scope="session")
async def operator(services, settings: Settings) -> dict[str, str]:
    """A token made by the documented command, as an operator would."""
    token = (
        await run_module(settings, "services.contributions", "tokens", "create", "--role", "operator", "--name", "test")
    ).strip()
    assert token.startswith("obs_")
    conn = await connect_as(settings, "contributions")
    stored = await conn.fetchval("SELECT token_hash FROM contributions.tokens WHERE name = 'test'")
    await conn.close()
    assert stored == token_hash(token)  # only the hash is kept
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def load(settings: Settings, path: Path | None = None) -> None:
    """Load the référentiel through Kafka as `make up` does, and wait until it is consolidated."""
    await load_and_wait(settings, path)


@pytest.fixture(scope="session")
async def referentiel(services, settings: Settings) -> Settings:
    """The whole référentiel in the registry (about 36,000 organisations), loaded once per session."""
    await load(settings)
    return settings
