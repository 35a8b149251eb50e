"""The public API under 64 concurrent clients for 60 seconds, asking what visitors ask (most answers
computed, bench/user_mix.py), while full harvests of 1,000 simulated portals (200,000 datasets) keep
the harvester, the consolidator and the indicators busy: zero errors.

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
    # Every client kept getting answers. The requests are what visitors ask, nearly all computed (not
    # the micro-cache's): 59/s, p50 1.1 s, p99 3.3 s measured during the harvest on 2 cores; their
    # speed is the public API's benchmark's business (issue 31), this test's is that none fails.
    assert len(report.latencies) > 64 * 60 / 2  # an answer every two seconds for each client
    assert report.cached < len(report.latencies) / 2  # and mostly computed answers
    assert report.harvest.busy_share > 0.9, "the harvest did not run during the whole window"
    assert report.harvest.datasets > 10_000 and report.harvest.records > 10_000
