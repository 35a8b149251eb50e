"""Benchmark: the public API under 64 concurrent clients for 60 seconds while a full harvest runs.

Starts the simulated portals (100 × 500 datasets by default), the harvester, consolidator,
indicators and api services, loads the référentiel, asks every source for a full run, and from then
on drives the API with `--clients` loops over a mix of requests (organisations list and filters, an
organisation's card and datasets, datasets, indicators, the map's points). Target: zero errors
(any status other than 200, or a failed connection). Reports the rate, p50/p99 latency, errors, and
how much the harvest and the consolidation did during the window (they share the 2 cores).

    .venv/bin/python -m bench.load_during_harvest [--seconds 60] [--clients 64] [--portals 100] [--datasets 500]
"""

import argparse
import asyncio
import itertools
import time
from collections import Counter

import aiohttp

from bench.indicators_latency import percentile
from bench.support import bench_settings, clean, log_dir, prepare, print_table, start_service
from shared.events import HarvestRequested
from tests.support.db import connect_as
from tests.support.kafka import produce, wait_for
from tests.support.processes import run_module, start_module
from tests.support.referentiel import load_and_wait

PATHS = [
    "/api/v1/organizations?page_size=50&sort=-population",
    "/api/v1/organizations?type=COM&departement=35&page_size=24",
    "/api/v1/organizations?q=saint&page_size=24",
    "/api/v1/organizations/{commune}",
    "/api/v1/organizations/{commune}/datasets",
    "/api/v1/datasets?page_size=50",
    "/api/v1/indicators?scope=departement",
    "/api/v1/indicators?scope=national",
    "/api/v1/organizations/stats?by=region",
    "/api/v1/map/organizations.json?departement=29",
]


async def drive(api: str, paths: list[str], clients: int, seconds: float) -> tuple[list[float], Counter[str]]:
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    rotation = itertools.cycle(paths)
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as session:

        async def client() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    async with session.get(api + next(rotation), headers={"Accept-Encoding": "gzip"}) as response:
                        await response.read()
                        outcomes[str(response.status)] += 1
                except (aiohttp.ClientError, TimeoutError) as exc:
                    outcomes[type(exc).__name__] += 1
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, outcomes


async def main(seconds: float, clients: int, portals: int, datasets: int) -> None:
    settings = bench_settings()
    logs = log_dir("load-during-harvest")
    await prepare(settings)
    sources = logs / "sources.yaml"
    arguments = ["--portals", str(portals), "--datasets", str(datasets), "--sources-file", str(sources)]
    simulator = start_module("simulated_portals", arguments, settings, logs / "simulator.log")
    services = [start_service(name, settings, logs) for name in ("harvester", "consolidator", "indicators", "api")]
    try:
        for service in services:
            await service.wait_ready(timeout=120)
        await load_and_wait(settings, timeout=900)
        await wait_for(lambda: asyncio.to_thread(sources.exists), timeout=120)
        await run_module(settings, "services.harvester", "sources", "seed", str(sources))
        api = services[-1].url
        rennes = {"q": "Rennes", "type": "COM"}
        async with aiohttp.ClientSession() as session, session.get(f"{api}/api/v1/organizations", params=rennes) as r:
            commune = (await r.json())["data"][0]["id"]
        paths = [p.format(commune=commune) for p in PATHS]
        conn = await connect_as(settings)
        source_ids = [r["id"] for r in await conn.fetch("SELECT id FROM harvest.sources")]
        for source_id in source_ids:
            command = HarvestRequested(producer="bench", source_id=source_id, requested_by="bench")
            await produce(settings, "harvest.commands", command.model_dump_json().encode(), key=source_id.encode())
        await asyncio.sleep(2)  # the first runs have started
        records_before = await conn.fetchval("SELECT count(*) FROM registry.dataset_sources")
        latencies, outcomes = await drive(api, paths, clients, seconds)
        items = await conn.fetchval("SELECT coalesce(sum(items_seen), 0) FROM harvest.runs")
        running = await conn.fetchval("SELECT count(*) FROM harvest.runs WHERE status IN ('queued', 'running')")
        records = await conn.fetchval("SELECT count(*) FROM registry.dataset_sources") - records_before
        await conn.close()
    finally:
        for service in services:
            service.stop()
        simulator.terminate()
        simulator.wait(20)
        await clean(settings)

    errors = sum(n for outcome, n in outcomes.items() if outcome != "200")
    rows = [
        ("clients, duration", f"{clients}, {seconds:.0f} s"),
        ("requests, rate", f"{len(latencies):,}, {len(latencies) / seconds:,.0f}/s"),
        ("latency p50, p99", f"{percentile(latencies, 0.5):.3f} s, {percentile(latencies, 0.99):.3f} s"),
        ("**errors** (target 0)", f"**{errors}** ({dict(outcomes)})"),
        ("harvest during the window: datasets discovered, runs still going at the end", f"{items:,}, {running}"),
        ("portal records consolidated during the window", f"{records:,}"),
    ]
    print_table(rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--portals", type=int, default=100)
    parser.add_argument("--datasets", type=int, default=500)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.seconds, arguments.clients, arguments.portals, arguments.datasets))
