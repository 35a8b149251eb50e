"""Benchmark: does every stage hold its rate as the registry grows to a million datasets?

Simulated portals serve `--datasets` datasets in all (`--per-portal` each). They are harvested in
steps, so that the registry holds 200,000, then 500,000, then 1,000,000 datasets (`--steps`). At
each step, each stage runs alone on the step's new datasets, the others stopped, and is timed:

1. harvest: the harvester harvests the step's portals (first request to last finished run);
2. consolidation: the consolidator consolidates what they published (first start to the last
   record committed and the outbox empty);
3. indicators: the indicators service reads every DatasetChanged of the step (to no lag);
4. API: with everything consolidated, the api answers, one request at a time, 200 different pages
   of the datasets list, 200 organisation cards and the map of each département (after 5 of each
   not counted: the first requests after the api starts fill its pool and caches). Each request
   differs from the others, so none is the api's micro-cache's answer.

Each service process is started for its stage and its peak memory (VmHWM) read at the end: flat
from step to step means it streams rather than holds the registry. PostgreSQL's table and index
sizes are read after each step. The rates are compared with the first step's (target: the last
within 25 % of the first). A fixed task timed around each stage (host_probe) shows how fast the host
was at each step: the report adds each rate scaled to the first step's host, beside the rate itself.

    .venv/bin/python -m bench.scale --datasets 1000000   (about 35 minutes on 2 cores)
    .venv/bin/python -m bench.scale --datasets 50000 --steps 10000,25000,50000   (a few minutes)

Not part of `make bench`. BENCH_KEEP=1 keeps the database afterwards.
"""

import argparse
import asyncio
import hashlib
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import aiohttp
import asyncpg

from bench.harvest import wait_ready
from bench.support import (
    Headline,
    bench_settings,
    clean,
    cpu_seconds,
    is_postgresql,
    is_service,
    log_dir,
    percentile,
    prepare,
    print_headlines,
    rss_mib,
)
from bench.support import start_service as start
from shared.settings import Settings
from tests.support.db import connect_as
from tests.support.events import request_runs
from tests.support.kafka import drained, end_offsets, wait_for
from tests.support.processes import ServiceProcess, run_module, start_module
from tests.support.referentiel import load_and_wait

TABLES = (
    "registry.datasets", "registry.dataset_sources", "registry.dataset_keys", "indicators.datasets",
    "indicators.dataset_words",
)  # fmt: skip


@dataclass
class Step:
    size: int  # datasets harvested so far
    rates: dict[str, float] = field(default_factory=dict)  # stage -> datasets (or events) per second
    peaks: dict[str, float] = field(default_factory=dict)  # service -> VmHWM MiB
    p99: dict[str, float] = field(default_factory=dict)  # request kind -> seconds
    sizes: dict[str, int] = field(default_factory=dict)  # table -> bytes with its indexes
    cpu: dict[str, dict[str, float]] = field(default_factory=dict)  # stage -> {service, postgresql}: CPU seconds
    probe: dict[str, float] = field(default_factory=dict)  # stage -> host_probe()'s seconds around it


@dataclass
class Timed:
    """A stage's run: its seconds, the service's peak memory, the CPU the service and PostgreSQL used,
    and the host probe's seconds (the mean of one just before the stage and one just after)."""

    seconds: float
    peak_mib: float
    cpu: dict[str, float]
    probe: float


PROBE_DOCUMENT = json.dumps([{"id": n, "title": f"Jeu de données {n}", "tags": ["a", "b", "c"]} for n in range(200)])


def host_probe(samples: int = 5, rounds: int = 240) -> float:
    """The CPU seconds a fixed task takes this process, the fastest of `samples` runs: parsing, dumping
    and hashing a fixed JSON document `rounds` times (about 0.1 s a run). Its code never changes and
    does not depend on the registry, so it tells the host's speed at each step from the code's: in the
    tenth and eleventh runs the services' CPU per item for the same work moved by 40 % between steps
    (docs/performance.md). The fastest run, as other processes' work (a vacuum, a checkpoint) slows
    some runs and never speeds one."""
    times = []
    for _ in range(samples):
        started = time.process_time()
        for _ in range(rounds):
            hashlib.sha256(json.dumps(json.loads(PROBE_DOCUMENT)).encode()).digest()
        times.append(time.process_time() - started)
    return min(times)


async def stage(settings: Settings, name: str, logs: Path, work: Callable[[], Awaitable[object]]) -> Timed:
    """Start `name`, run `work`, stop it: what `work` took in time, memory and CPU. The CPU says where
    a rate that falls with the registry's size goes: into the service's code, or into PostgreSQL (whose
    index probes and inserts deepen with its tables)."""
    probe_before = host_probe()
    process: ServiceProcess = start(name, settings, logs)
    groups = {"service": is_service(name), "postgresql": is_postgresql}
    try:
        await process.wait_ready()
        cpu_before = cpu_seconds(groups)
        started = time.perf_counter()
        await work()
        elapsed = time.perf_counter() - started
        cpu_after = cpu_seconds(groups)
        peak = rss_mib(process.process.pid, "VmHWM")  # type: ignore[union-attr]
    finally:
        process.stop()
    probe = (probe_before + host_probe()) / 2
    return Timed(elapsed, peak, {group: cpu_after[group] - cpu_before[group] for group in groups}, probe)


async def harvested(conn: asyncpg.Connection, source_ids: list[str]) -> int:
    """Wait until every run of these sources has finished; the datasets they saw."""
    finished = """SELECT count(*) FILTER (WHERE status NOT IN ('queued', 'running')) FROM harvest.runs
                  WHERE source_id = ANY($1)"""
    await wait_for(lambda: _at_least(conn, finished, source_ids, len(source_ids)), timeout=7200, interval=1)
    seen = "SELECT coalesce(sum(items_seen), 0) FROM harvest.runs WHERE source_id = ANY($1)"
    return int(await conn.fetchval(seen, source_ids))


async def _at_least(conn: asyncpg.Connection, sql: str, argument: object, expected: int) -> bool:
    return int(await conn.fetchval(sql, argument)) >= expected


async def consolidated(settings: Settings) -> None:
    await drained(settings, "consolidator", "harvest.datasets", timeout=7200)
    conn = await connect_as(settings, "consolidator")
    try:
        await wait_for(lambda: conn.fetchval("SELECT count(*) = 0 FROM registry.outbox"), timeout=7200, interval=0.5)
    finally:
        await conn.close()


WARM_UP = 5  # requests of each kind not counted: the first ones after the api starts fill its pool and caches


async def p99_of(session: aiohttp.ClientSession, base: str, paths: list[str]) -> float:
    """The 99th percentile of these requests' times, one at a time, after the first WARM_UP."""
    timings = []
    for path in paths:
        started = time.perf_counter()
        async with session.get(base + path) as response:
            await response.read()
            assert response.status == 200, (path, response.status)
        timings.append(time.perf_counter() - started)
    return percentile(timings[WARM_UP:], 0.99)


async def api_latencies(settings: Settings, logs: Path, step: Step) -> None:
    api = start("api", settings, logs)
    try:
        await api.wait_ready()
        conn = await connect_as(settings, "consolidator")
        publishers = [r["organization_id"] for r in await conn.fetch(
            """SELECT organization_id FROM registry.datasets WHERE organization_id IS NOT NULL
               GROUP BY 1 ORDER BY md5(organization_id) LIMIT 205""")]  # fmt: skip
        placed = "SELECT DISTINCT departement AS d FROM registry.organizations WHERE departement IS NOT NULL ORDER BY 1"
        departements = [r["d"] for r in await conn.fetch(placed)]
        await conn.close()
        async with aiohttp.ClientSession() as session:
            pages = [f"/api/v1/datasets?page_size=50&page={n}" for n in range(1, 206)]
            step.p99["datasets list"] = await p99_of(session, api.url, pages)
            cards = [f"/api/v1/organizations/{o}" for o in publishers]
            step.p99["organisation card"] = await p99_of(session, api.url, cards)
            maps = [f"/api/v1/map/organizations.json?departement={d}" for d in departements]
            step.p99["map of a département"] = await p99_of(session, api.url, maps)
        step.peaks["api"] = rss_mib(api.process.pid, "VmHWM")  # type: ignore[union-attr]
    finally:
        api.stop()


async def table_sizes(settings: Settings) -> dict[str, int]:
    conn = await connect_as(settings)  # the administrator: every service's schema
    try:
        return {t: int(await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", t)) for t in TABLES}
    finally:
        await conn.close()


async def measure_step(settings: Settings, logs: Path, conn: asyncpg.Connection, sources: list[str], size: int) -> Step:
    """Harvest these sources, then consolidate, then recompute the indicators, each stage alone; then
    the api's latencies and the tables' sizes."""
    step, seen = Step(size), []
    changes_before = await end_offsets(settings, "registry.datasets")

    async def harvest() -> None:
        await request_runs(settings, sources, "bench")
        seen.append(await harvested(conn, sources))

    def record(stage_name: str, service: str, items: int, timed: Timed) -> None:
        step.rates[stage_name] = items / timed.seconds
        step.peaks[service] = timed.peak_mib
        step.cpu[stage_name] = {group: seconds / items for group, seconds in timed.cpu.items()}
        step.probe[stage_name] = timed.probe

    timed = await stage(settings, "harvester", logs, harvest)
    record("harvest", "harvester", seen[0], timed)
    timed = await stage(settings, "consolidator", logs, partial(consolidated, settings))
    record("consolidation", "consolidator", seen[0], timed)
    changes = await end_offsets(settings, "registry.datasets") - changes_before
    indicators = partial(drained, settings, "indicators", "registry.datasets", timeout=7200)
    record("indicators (DatasetChanged)", "indicators", changes, await stage(settings, "indicators", logs, indicators))
    await api_latencies(settings, logs, step)
    step.sizes = await table_sizes(settings)
    return step


async def main(total: int, per_portal: int, steps: list[int]) -> None:
    settings = bench_settings(harvest_concurrency=16)
    logs = log_dir("scale")
    await prepare(settings)
    portals = -(-total // per_portal)
    sources = logs / "sources.yaml"
    simulator = start_module(
        "simulated_portals",
        ["--portals", str(portals), "--datasets", str(per_portal), "--mirrored-share", "0",
         "--national-datasets", "0", "--sources-file", str(sources)],
        settings,
        logs / "simulator.log",
    )  # fmt: skip
    results: list[Step] = []
    try:
        await wait_ready(f"http://127.0.0.1:{settings.simulator_port}/udata/datagouv/api/1/datasets/?page_size=1")
        consolidator, indicators = start("consolidator", settings, logs), start("indicators", settings, logs)
        try:
            await consolidator.wait_ready()
            await indicators.wait_ready()
            await load_and_wait(settings, timeout=900)
        finally:
            consolidator.stop()
            indicators.stop()
        harvester = start("harvester", settings, logs)
        await harvester.wait_ready()  # its migrations applied
        harvester.stop()
        await run_module(settings, "services.harvester", "sources", "seed", str(sources))
        conn = await connect_as(settings, "harvester")
        # By portal number, not by id: ids begin with the family (sim-ckan-…, sim-csw-…), so each step would
        # harvest other families than the one before (the harvest rate "fell" by two thirds between steps).
        listed = "SELECT id FROM harvest.sources WHERE id <> 'sim-datagouv' ORDER BY split_part(id, '-', 3), id"
        source_ids = [r["id"] for r in await conn.fetch(listed)]
        done = 0
        for size in steps:
            step = await measure_step(settings, logs, conn, source_ids[done // per_portal : size // per_portal], size)
            done = size
            results.append(step)
            print(f"step {size:,}: {step}", flush=True)
        await conn.close()
    finally:
        simulator.terminate()
        simulator.wait(10)
        if not os.environ.get("BENCH_KEEP"):
            await clean(settings)
        else:
            print("kept", settings.db_name)
    report(results)


def report(results: list[Step]) -> None:
    first, last = results[0], results[-1]
    sizes = " | ".join(f"{s.size:,}" for s in results)
    print(f"| registry size → | {sizes} | last / first |")
    print("|---|" + "---|" * (len(results) + 1))
    rows: list[tuple[str, Callable[[Step], float], Callable[[float], str]]] = [
        *((f"{n} rate", lambda s, n=n: s.rates[n], lambda v: f"{v:,.0f}/s") for n in first.rates),
        *((f"{n} peak memory", lambda s, n=n: s.peaks[n], lambda v: f"{v:.0f} MiB") for n in first.peaks),
        *((f"API p99, {n}", lambda s, n=n: s.p99[n], lambda v: f"{v * 1000:.0f} ms") for n in first.p99),
        *((f"{n} with its indexes", lambda s, n=n: s.sizes[n], lambda v: f"{v / 2**20:,.0f} MiB") for n in first.sizes),
        *((f"{n} CPU per item, {g}", lambda s, n=n, g=g: s.cpu[n][g], lambda v: f"{v * 1e6:,.0f} µs")
          for n in first.cpu for g in first.cpu[n]),
        *((f"host probe around the {n} stage (a fixed task's CPU time)", lambda s, n=n: s.probe[n],
           lambda v: f"{v * 1000:,.1f} ms") for n in first.probe),
        # The rate a step would have had on the first step's host: its rate times how much slower the
        # probe ran then (a figure beside the measured one, not instead of it).
        *((f"{n} rate on the first step's host", lambda s, n=n: s.rates[n] * s.probe[n] / first.probe[n],
           lambda v: f"{v:,.0f}/s") for n in first.rates),
    ]  # fmt: skip
    for label, value, shown in rows:
        print(f"| {label} | {' | '.join(shown(value(s)) for s in results)} | {value(last) / value(first):.2f} |")
    print_headlines(
        *(
            Headline(
                f"{stage_name} rate at {last.size:,} datasets against {first.size:,}",
                f"{last.rates[stage_name]:,.0f}/s",
                f"{first.rates[stage_name]:,.0f}/s at {first.size:,}",
                f"{last.rates[stage_name] / first.rates[stage_name]:.2f}",
                "≥ 0.75",
                last.rates[stage_name] >= 0.75 * first.rates[stage_name],
            )
            for stage_name in first.rates
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.scale")
    parser.add_argument("--datasets", type=int, default=1_000_000)
    parser.add_argument("--per-portal", type=int, default=200)
    parser.add_argument("--steps", default="200000,500000,1000000", help="registry sizes to measure at")
    args = parser.parse_args()
    steps = sorted(int(s) for s in args.steps.split(","))
    asyncio.run(main(max(args.datasets, steps[-1]), args.per_portal, [s for s in steps if s <= args.datasets]))
