"""Benchmark: the public API under 64 concurrent clients for 60 seconds while full harvests run.

Starts the simulated portals (1,000 portals × 200 datasets by default), the harvester,
consolidator, indicators and api services, loads the référentiel, asks every source for a full run,
and from then on drives the API with `--clients` loops over what visitors ask (bench/user_mix.py:
searches, filters, sorts and pages of the lists, organisation cards and their datasets, indicators,
statistics, the map's points, small exports), drawn so that few requests repeat: most answers are
computed, and `X-Cache` counts those the api's micro-cache gave. Whenever
every run has finished before the window ends, every source is asked for a full run again, so that
the chain works during the whole window whatever the machine's speed. Target: zero errors (any
status other than 200, or a failed connection). Reports the rate, p50/p99 latency, errors, answers
from the cache, and what
the harvest and the consolidation did during the window (they share the cores with the API).
tests/reliability/test_load.py runs it and asserts zero errors.

    .venv/bin/python -m bench.load_during_harvest [--seconds 60] [--clients 64] [--portals 1000] [--datasets 200]
"""

import argparse
import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import aiohttp
import asyncpg

from bench.support import (
    Headline,
    bench_settings,
    clean,
    log_dir,
    percentile,
    prepare,
    print_headlines,
    print_table,
    rss_mib,
    start_service,
)
from bench.user_mix import requests
from shared.settings import Settings
from tests.support.db import connect_as
from tests.support.events import request_runs
from tests.support.kafka import wait_for
from tests.support.processes import run_module, small_world_arguments, start_module
from tests.support.referentiel import load_and_wait

SERVICES = ("harvester", "consolidator", "indicators", "contributions", "api")  # the api last: its url is used


@dataclass
class HarvestActivity:
    """How busy the harvest kept the chain during the window."""

    rounds: int = 0  # full harvests of every source asked for
    samples: int = 0
    busy_samples: int = 0  # samples with at least one run queued or running
    datasets: int = 0  # discovered by the runs that finished during the window
    records: int = 0  # portal records the consolidator added during the window

    @property
    def busy_share(self) -> float:
        return self.busy_samples / self.samples if self.samples else 0.0


@dataclass
class LoadReport:
    clients: int
    seconds: float
    latencies: list[float]
    outcomes: Counter[str]
    cached: int  # answers the api's micro-cache gave (X-Cache: hit)
    harvest: HarvestActivity = field(default_factory=HarvestActivity)
    peak_mib: dict[str, float] = field(default_factory=dict)  # each service's peak resident memory

    @property
    def errors(self) -> int:
        return sum(n for outcome, n in self.outcomes.items() if outcome != "200")

    def rows(self) -> list[tuple[str, str]]:
        h = self.harvest
        return [
            ("clients, duration", f"{self.clients}, {self.seconds:.0f} s"),
            ("requests, rate", f"{len(self.latencies):,}, {len(self.latencies) / self.seconds:,.0f}/s"),
            ("latency p50, p99", f"{percentile(self.latencies, 0.5):.3f} s, {percentile(self.latencies, 0.99):.3f} s"),
            ("**errors** (target 0)", f"**{self.errors}** ({dict(self.outcomes)})"),
            ("answers from the micro-cache (the others computed)", f"{self.cached:,} of {len(self.latencies):,}"),
            ("full harvests asked for, share of the window with a run going", f"{h.rounds}, {h.busy_share:.0%}"),
            ("datasets of finished runs, portal records consolidated in the window", f"{h.datasets:,}, {h.records:,}"),
            ("peak RSS per service (VmHWM)", self.memory()),
        ]

    def memory(self) -> str:
        return ", ".join(f"{name} {mib:.0f} MiB" for name, mib in self.peak_mib.items())

    def headlines(self) -> list[Headline]:
        return [
            Headline(
                f"API under {self.clients} clients for {self.seconds:.0f} s during full harvests",
                f"{len(self.latencies) / self.seconds:,.0f} requests/s, p99 {percentile(self.latencies, 0.99):.2f} s, "
                f"{self.errors} errors",
                target="0 errors",
                met=self.errors == 0,
            ),
            Headline("peak memory per service, same run", self.memory()),
        ]


async def drive(api: str, paths: Iterator[str], clients: int, seconds: float) -> tuple[list[float], Counter[str], int]:
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    cached = 0
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as session:

        async def client() -> None:
            nonlocal cached
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    async with session.get(api + next(paths), headers={"Accept-Encoding": "gzip"}) as response:
                        await response.read()
                        outcomes[str(response.status)] += 1
                        cached += response.headers.get("X-Cache") == "hit"
                except (aiohttp.ClientError, TimeoutError) as exc:
                    outcomes[type(exc).__name__] += 1
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, outcomes, cached


async def keep_harvesting(
    settings: Settings, conn: asyncpg.Connection, source_ids: list[str], activity: HarvestActivity
) -> None:
    """Ask every source for a full run whenever the previous round has been queued and has finished."""
    expected_runs = 0
    while True:
        row = await conn.fetchrow(
            "SELECT count(*) AS runs, count(*) FILTER (WHERE status IN ('queued', 'running')) AS active"
            " FROM harvest.runs"
        )
        activity.samples += 1
        activity.busy_samples += row["active"] > 0
        if row["runs"] >= expected_runs and row["active"] == 0:
            await request_runs(settings, source_ids, "bench")
            activity.rounds += 1
            expected_runs = row["runs"] + len(source_ids)
        await asyncio.sleep(0.5)


async def counts(conn: asyncpg.Connection) -> tuple[int, int]:
    items = await conn.fetchval("SELECT coalesce(sum(items_seen), 0) FROM harvest.runs")
    records = await conn.fetchval("SELECT count(*) FROM registry.dataset_sources")
    return int(items), int(records)


async def measure(settings: Settings, seconds: float, clients: int, portals: int, datasets: int) -> LoadReport:
    """Start the chain on `settings` (a prepared database and topic prefix), run the load, stop it."""
    logs = log_dir(f"load-during-harvest-{settings.topic_prefix.rstrip('.')}")
    sources = logs / "sources.yaml"
    sources.unlink(missing_ok=True)
    arguments = ["--portals", str(portals), "--datasets", str(datasets), *small_world_arguments(datasets)]
    arguments += ["--sources-file", str(sources)]
    simulator = start_module("simulated_portals", arguments, settings, logs / "simulator.log")
    services = [start_service(name, settings, logs) for name in SERVICES]
    try:
        for service in services:
            await service.wait_ready(timeout=120)
        await load_and_wait(settings, timeout=900)
        await wait_for(lambda: asyncio.to_thread(sources.exists), timeout=120)
        await run_module(settings, "services.harvester", "sources", "seed", str(sources))
        api = services[-1].url
        conn, watcher = await connect_as(settings), await connect_as(settings)
        organisation_ids = [r["id"] for r in await conn.fetch("SELECT id FROM registry.organizations")]
        source_ids = [r["id"] for r in await conn.fetch("SELECT id FROM harvest.sources")]
        activity = HarvestActivity()
        harvesting = asyncio.create_task(keep_harvesting(settings, watcher, source_ids, activity))
        try:
            await asyncio.sleep(2)  # the first runs have started
            items_before, records_before = await counts(conn)
            latencies, outcomes, cached = await drive(api, requests(1, organisation_ids), clients, seconds)
            items, records = await counts(conn)
        finally:
            harvesting.cancel()
            await asyncio.gather(harvesting, return_exceptions=True)
            await conn.close()
            await watcher.close()
        activity.datasets, activity.records = items - items_before, records - records_before
        peaks = {s.name: rss_mib(s.process.pid, "VmHWM") for s in services if s.process is not None}
        return LoadReport(clients, seconds, latencies, outcomes, cached, activity, peaks)
    finally:
        for service in services:
            service.stop()
        simulator.terminate()
        simulator.wait(20)


async def main(seconds: float, clients: int, portals: int, datasets: int) -> None:
    settings = bench_settings()
    await prepare(settings)
    try:
        report = await measure(settings, seconds, clients, portals, datasets)
    finally:
        await clean(settings)
    print_table(report.rows())
    print_headlines(*report.headlines())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--portals", type=int, default=1000)
    parser.add_argument("--datasets", type=int, default=200)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.seconds, arguments.clients, arguments.portals, arguments.datasets))
