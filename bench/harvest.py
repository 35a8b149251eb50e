"""Benchmark: harvesting many simulated portals through the real broker.

Starts the simulated portals (their own process), the harvester service and its database, registers
every portal as a source, asks for every run at once, and measures datasets discovered and published
per second from the first request to the last finished run. In the same run it measures the limit:
raw aiokafka publishing of as many messages of the same size from one process. It also samples the
harvester's resident memory as the harvest goes on: flat memory means it streams rather than
accumulates.

`--families csw` harvests only the sources of those families (the simulated world still spreads its
`--portals` over the six families, one in six each). The geocatalogues' backend parses XML, so for
`csw` a second limit is measured in the same run: ElementTree parsing alone, in one process, of the
same GetRecords pages the simulated GeoNetworks served.

    .venv/bin/python -m bench.harvest [--portals 1000] [--datasets 200] [--harvesters 1] [--families csw ...]

BENCH_KEEP=1 keeps the benchmark's database afterwards, to look at its runs.
"""

import argparse
import asyncio
import os
import statistics
import time
import xml.etree.ElementTree as ET

import aiohttp
import asyncpg
from aiokafka import AIOKafkaProducer

from bench.support import Headline, bench_settings, clean, log_dir, prepare, print_headlines, rss_mib, start_service
from services.harvester.backends.csw import CSW, get_records_url
from shared.settings import Settings
from tests.support.db import connect_as
from tests.support.events import request_runs
from tests.support.kafka import end_offsets
from tests.support.processes import run_module, small_world_arguments, start_module


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


async def csw_parse_rate(urls: list[str], portals: int = 40) -> tuple[float, int]:
    """(records per second, records) ElementTree parses, in this one process, from the GetRecords pages
    of the first `portals` CSW sources, fetched beforehand: the CSW family's parsing limit, before any
    mapping, publishing or waiting on the network."""
    bodies: list[bytes] = []
    async with aiohttp.ClientSession() as session:
        for url in urls[:portals]:
            start = 1
            while start:
                async with session.get(get_records_url(url, start)) as response:
                    body = await response.read()
                bodies.append(body)
                results = ET.fromstring(body).find(f"{CSW}SearchResults")
                following = int(results.get("nextRecord", "0")) if results is not None else 0
                start = following if results is not None and len(results) and following > start else 0
    started = time.perf_counter()
    records = 0
    for body in bodies:
        results = ET.fromstring(body).find(f"{CSW}SearchResults")
        records += len(results) if results is not None else 0
    return records / (time.perf_counter() - started), records


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


async def main(portals: int, datasets: int, harvesters: int, only: list[str]) -> None:
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
            *small_world_arguments(datasets),
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
        chosen = [
            r
            for r in await conn.fetch("SELECT id, family, url FROM harvest.sources ORDER BY id")
            if not only or r["family"] in only
        ]
        source_ids = [r["id"] for r in chosen]
        national = "sim-datagouv" in source_ids  # data.gouv.fr's own datasets (no copies: --mirrored-share 0)
        expected = (len(source_ids) - national) * datasets + (max(10, datasets // 2) if national else 0)
        csw_urls = [r["url"] for r in chosen if r["family"] == "csw"]

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
        # The simulator serves the same pages again from its cache: only the parsing is timed.
        parse_rate, parsed = await csw_parse_rate(csw_urls) if csw_urls else (0.0, 0)
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
    csw_only = only == ["csw"]
    if parsed:
        pages = f"{parse_rate:,.0f} records/s ({parsed:,} records of {min(len(csw_urls), 40)} portals)"
        print(f"| csw: ElementTree parsing alone of the same GetRecords pages, one process | {pages} |")
        if csw_only:
            print(f"| ratio csw harvest / ElementTree parsing | {rate / parse_rate:.2f} |")
    flat = max(quarter) <= 1.1 * statistics.median(quarter)
    scope = f"{', '.join(only)} only, {len(source_ids):,} of {portals:,}" if only else f"{portals:,}"
    extra = (
        [
            Headline(
                f"harvest of {len(source_ids):,} geocatalogues (csw), against parsing their pages",
                f"{rate:,.0f} datasets/s",
                f"ElementTree parsing alone {parse_rate:,.0f} records/s",
                f"{rate / parse_rate:.2f}",
            )
        ]
        if csw_only and parsed
        else []
    )
    print_headlines(
        Headline(
            f"harvest, {scope} portals, {harvesters} harvester process(es)",
            f"{rate:,.0f} datasets/s",
            f"raw aiokafka publishing {baseline:,.0f} messages/s",
            f"{rate / baseline:.2f}",
            "—" if only else "≥ 5,000 datasets/s",  # the target is the whole harvest's
            None if only else rate >= 5000,
        ),
        Headline(
            "harvester memory from 25 % of the datasets on: median, max; peak",
            f"{statistics.median(quarter):.0f}, {max(quarter):.0f}; {peak:.0f} MiB",
            target="flat (max within 10 % of the median)",
            met=flat,
        ),
        *extra,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.harvest")
    parser.add_argument("--portals", type=int, default=1000)
    parser.add_argument("--datasets", type=int, default=200, help="datasets per portal")
    parser.add_argument("--harvesters", type=int, default=1, help="harvester processes in the consumer group")
    parser.add_argument("--families", nargs="*", default=[], help="harvest only the sources of these families")
    args = parser.parse_args()
    asyncio.run(main(args.portals, args.datasets, args.harvesters, args.families))
