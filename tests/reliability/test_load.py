"""The public API under 64 concurrent clients for 60 seconds while full harvests of 1,000 simulated
portals (200,000 datasets) keep the harvester, the consolidator and the indicators busy: zero errors.

It runs the load benchmark (bench/load_during_harvest.py) on the test's own database and topics."""

import pytest

from bench.load_during_harvest import measure
from shared.bootstrap import bootstrap_database, delete_topics, drop_database, ensure_topics
from tests.support.processes import ensure_infrastructure, isolated_settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


async def test_the_api_answers_64_clients_for_60_seconds_without_error_during_a_full_harvest() -> None:
    settings = isolated_settings("load", 25000)
    ensure_infrastructure()
    await bootstrap_database(settings)
    await ensure_topics(settings)
    try:
        report = await measure(settings, seconds=60, clients=64, portals=1000, datasets=200)
    finally:
        await drop_database(settings)
        await delete_topics(settings)
    print(*(f"{label}: {value}" for label, value in report.rows()), sep="\n")
    assert report.errors == 0, report.outcomes
    assert len(report.latencies) > 64 * 60  # every client got more than an answer a second
    assert report.harvest.busy_share > 0.9, "the harvest did not run during the whole window"
    assert report.harvest.datasets > 10_000 and report.harvest.records > 10_000
