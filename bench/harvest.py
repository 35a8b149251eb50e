"""Benchmark: harvesting many simulated portals through the real broker.

Starts the simulated portals (their own process), the harvester service and its database, registers
every portal as a source, asks for every run at once, and measures datasets discovered and published
per second from the first request to the last finished run. In the same run it measures the limit:
raw aiokafka publishing of as many messages of the same size from one process. It also samples the
harvester's resident memory as the harvest goes on: flat memory means it streams rather than
accumulates.

    .venv/bin/python -m bench.harvest [--portals 1000] [--datasets 200] [--harvesters 1]

BENCH_KEEP=1 keeps the benchmark's database afterwards, to look at its runs.
"""

import argparse
import asyncio
import os
import statistics
import time

import aiohttp
import asyncpg
from aiokafka import AIOKafkaProducer

from bench.support import Headline, bench_settings, clean, log_dir, prepare, print_headlines, rss_mib, start_service
from shared.settings import Settings
from tests.support.db import connect_as
from tests.support.events import request_runs
from tests.support.kafka import end_offsets
from tests.support.processes import run_module, start_module


async def raw_kafka_rate(settings: Settings, count: int, size: int) -> float:
    """Messages per second aiokafka publishes from one process, idempotent, acks=all."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    payload = b"x" * size
    topic = settings.topic("harvest.runs.dlq")  # a topic of the run nobody reads
    started = time.perf_counter()
    try:
        window = []
        for n in range(count):
            window.append(await producer.send(topic, payload, key=str(n).encode()))
            if len(window) >= 5000:
                await asyncio.gather(*window)
                window.clear()
        await asyncio.gather(*window)
    finally:
        await producer.stop()
    return count / (time.perf_counter() - started)


async def harvest_all(
    settings: Settings,
    conn: asyncpg.Connection,
    harvester: object,
    source_ids: list[str],
    samples: list[tuple[int, float]],
) -> None:
    """Ask for every source's run at once and wait until all have finished, sampling memory."""
    await request_runs(settings, source_ids, "bench")
    while True:
        row = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE status NOT IN ('queued', 'running')) AS finished,"
            " coalesce(sum(items_seen), 0) AS items FROM harvest.runs"
        )
        samples.append((int(row["items"]), rss_mib(harvester.process.pid)))  # type: ignore[attr-defined]
        if row["finished"] >= len(source_ids):
            return
        await asyncio.sleep(0.5)


async def wait_ready(url: str, timeout: float = 120) -> None:
    async with aiohttp.ClientSession() as session:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.3)
    raise RuntimeError(f"{url} not ready")


async def main(portals: int, datasets: int, harvesters: int) -> None:
    settings = bench_settings(harvest_concurrency=16)
    logs = log_dir("harvest")
    await prepare(settings)
    sources = logs / "sources.yaml"
    simulator = start_module(
        "simulated_portals",
        [
            "--portals",
            str(portals),
            "--datasets",
            str(datasets),
            "--mirrored-share",
            "0",
            "--cache-responses",
            "--sources-file",
            str(sources),
        ],
        settings,
        logs / "simulator.log",
    )
    # Several harvester processes share the work as one consumer group (runs are claimed in the database).
    instances = [
        start_service("harvester", settings.model_copy(update={"harvester_port": 28001 + 10 * n}), logs)
        for n in range(harvesters)
    ]
    harvester = instances[0]
    try:
        await wait_ready(f"http://127.0.0.1:{settings.simulator_port}/udata/datagouv/api/1/datasets/?page_size=1")
        for instance in instances:
            await instance.wait_ready()
        await run_module(settings, "services.harvester", "sources", "seed", str(sources))
        conn = await connect_as(settings, "harvester")
        source_ids = [r["id"] for r in await conn.fetch("SELECT id FROM harvest.sources")]
        expected = portals * datasets + max(10, datasets // 2)

        # Pass 1 warms the simulated portals' response cache (their CPU is not the harvester's);
        # pass 2, the same harvest again, is measured.
        await harvest_all(settings, conn, harvester, source_ids, [])
        warm_peak = rss_mib(harvester.process.pid, "VmHWM")  # type: ignore[union-attr]
        await conn.execute("DELETE FROM harvest.item_errors")
        await conn.execute("DELETE FROM harvest.runs")
        samples: list[tuple[int, float]] = []
        started = time.perf_counter()
        await harvest_all(settings, conn, harvester, source_ids, samples)
        elapsed = time.perf_counter() - started
        runs = await conn.fetch(
            "SELECT status, count(*) AS n, sum(items_seen) AS items FROM harvest.runs GROUP BY status"
        )
        families = await conn.fetch(
            "SELECT s.family, count(*) AS runs, sum(r.items_seen) AS items FROM harvest.runs r"
            " JOIN harvest.sources s ON s.id = r.source_id GROUP BY s.family ORDER BY s.family"
        )
        await conn.close()
        published = await end_offsets(settings, "harvest.datasets")
        peak = max(rss_mib(i.process.pid, "VmHWM") for i in instances)  # type: ignore[union-attr]
    finally:
        for instance in instances:
            instance.stop()
        simulator.terminate()
        simulator.wait(10)

    items = sum(int(r["items"] or 0) for r in runs)
    by_status = ", ".join(f"{r['status']}: {r['n']}" for r in runs)
    rate = items / elapsed
    baseline = await raw_kafka_rate(settings, min(items, 200_000), 1500)
    if not os.environ.get("BENCH_KEEP"):
        await clean(settings)
    else:
        print("kept", settings.db_name)
    quarter = [rss for n, rss in samples if n >= items * 0.25] or [0.0]
    print("| measure | value |")
    print("|---|---|")
    print(f"| portals (sources), harvester processes | {len(source_ids)}, {harvesters} |")
    print(f"| runs by status | {by_status} |")
    print(f"| datasets discovered (expected) | {items:,} ({expected:,}) |")
    print(f"| by family (runs, datasets) | {', '.join(f'{f[0]} {f[1]}, {f[2]:,}' for f in families)} |")
    print(f"| DatasetDiscovered on harvest.datasets (both passes) | {published:,} |")
    print(f"| elapsed, first request to last finished run | {elapsed:.1f} s |")
    print(f"| **harvest rate** | **{rate:,.0f} datasets/s** (target 5,000) |")
    print(f"| raw aiokafka publishing, same run, 1.5 kB messages | {baseline:,.0f} messages/s |")
    print(f"| ratio harvest / raw Kafka | {rate / baseline:.2f} |")
    print(
        f"| harvester RSS after 25 % of datasets, median then max | {statistics.median(quarter):.0f} MiB, "
        f"{max(quarter):.0f} MiB |"
    )
    print(f"| harvester peak RSS (VmHWM) after pass 1, after pass 2 | {warm_peak:.0f} MiB, {peak:.0f} MiB |")
    flat = max(quarter) <= 1.1 * statistics.median(quarter)
    print_headlines(
        Headline(
            f"harvest, {portals:,} portals, {harvesters} harvester process(es)",
            f"{rate:,.0f} datasets/s",
            f"raw aiokafka publishing {baseline:,.0f} messages/s",
            f"{rate / baseline:.2f}",
            "≥ 5,000 datasets/s",
            rate >= 5000,
        ),
        Headline(
            "harvester memory from 25 % of the datasets on: median, max; peak",
            f"{statistics.median(quarter):.0f}, {max(quarter):.0f}; {peak:.0f} MiB",
            target="flat (max within 10 % of the median)",
            met=flat,
        ),
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.harvest")
    parser.add_argument("--portals", type=int, default=1000)
    parser.add_argument("--datasets", type=int, default=200, help="datasets per portal")
    parser.add_argument("--harvesters", type=int, default=1, help="harvester processes in the consumer group")
    args = parser.parse_args()
    asyncio.run(main(args.portals, args.datasets, args.harvesters))
