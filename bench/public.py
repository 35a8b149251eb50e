"""Benchmark: the public API and the front end over the whole référentiel and 200,000 datasets.

The world: the référentiel (36,362 organisations) and 270,000 DatasetDiscovered events of 1,000
simulated portals and data.gouv.fr's copies of a share of them (bench.consolidation's), consolidated
into about 216,000 canonical datasets and counted by the indicators, before anything is measured.

1. Organisations list (`GET /api/v1/organizations`, pages of 24 or 50) and datasets list (an
   organisation's datasets, as its page asks them, and `GET /api/v1/datasets` filtered by format,
   licence, date or text, as API users ask them): requests per second and p99 latency with 64
   concurrent clients, each against a static file of the same bytes as one page (50 rows) served by
   the same server (the front end's file route) in the same run, every client sending a browser's
   Accept-Encoding to both. Two figures each, side by side: *computed*, each client asking another
   search, filter, sort and page (bench/user_mix.py), which the targets are read on, with the share of
   answers that came from the api's two-second micro-cache anyway (`X-Cache: hit`: the same URL asked
   twice within two seconds); and *cached*, one URL asked again and again, answered from the
   micro-cache, already gzipped. Each list first gets 5 s of other queries of its mix (the api's
   connections have prepared their statements, PostgreSQL's cache holds the pages, as on a running
   site). Its rate is measured with every client asking its next query as soon as it has its answer
   (the machine saturated: the p99 there is the queue's, reported); its p99 with queries sent at the
   target rate, 0.30 of the static file's, over 64 connections, each latency counted from the moment
   its request was due. Targets: ≥ 30 % of the static rate, and p99 < 100 ms at that rate.
2. Exports: time to the first byte of a CSV download, for selections from the whole list to one
   organisation's datasets. Target: < 200 ms whatever the filter.
3. In Debian's Chromium: time from navigation to the first table rows (`/?vue=table`: the bare
   address is the home page), and to the map drawn with every commune placed (supercluster over
   ≈35,000 points), three fresh pages each, the median against the target. Targets: < 1.5 s and
   < 2 s. The map pages come a few seconds apart, past the api's micro-cache: the first visitor waits
   for the points' answer to be computed; the next ones get the previous answer at once while it is
   computed again behind them (the map's answers are served stale-while-revalidate, up to 30 s old).
   Both are reported; the target is read on the following visitors, what a visitor of a running site
   gets.

    .venv/bin/python -m bench.public [--seconds 15] [--clients 64] [--events 270000]

BENCH_KEEP=1 keeps the benchmark's database and topics afterwards (the world, to study its queries).

The load comes from one Python process on the same 2 cores as the server: both rates share that
limit, which is why they are compared as a ratio. With 64 clients each waiting for its answer, the
mean latency is 64 divided by the rate: at 0.30 of the static file's rate (≈ 480/s) it is ≈ 130 ms
whatever the api does, which is why the p99 is read at that rate rather than in the saturated loop.
"""

import argparse
import asyncio
import itertools
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from statistics import median

import aiohttp
import asyncpg
from playwright.async_api import async_playwright

from bench import consolidation
from bench.support import (
    Headline,
    bench_settings,
    clean,
    log_dir,
    percentile,
    prepare,
    print_headlines,
    print_table,
    start_service,
)
from bench.user_mix import dataset_requests, list_requests
from shared.settings import Settings
from simulated_portals.catalogue import build_world
from tests.support.browser import ARGS, CHROMIUM
from tests.support.db import connect_as
from tests.support.kafka import drained, wait_for
from tests.support.processes import ROOT
from tests.support.referentiel import load_and_wait

BROWSER_ENCODINGS = {"Accept-Encoding": "gzip, deflate, br, zstd"}  # Chromium's, on both sides
TARGET_RATIO = 0.30  # of the static file's rate
WARM_UP_SECONDS = 5.0  # of other queries of the same mix before each list's figures


@dataclass
class Load:
    rate: float  # requests per second
    p99: float  # seconds
    errors: int
    cached: int  # answers the api's micro-cache gave (X-Cache: hit)
    requests: int

    def figures(self) -> str:
        hits = f", {self.cached:,} of {self.requests:,} from the cache" if self.requests else ""
        return f"{self.rate:,.0f}/s, p99 {self.p99 * 1000:.0f} ms, {self.errors} errors{hits}"


async def load(base: str, paths: Iterator[str], clients: int, seconds: float) -> Load:
    """`clients` concurrent loops, each asking the next path of `paths` for `seconds`."""
    latencies: list[float] = []
    errors = cached = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            nonlocal errors, cached
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                async with session.get(base + next(paths), headers=BROWSER_ENCODINGS) as response:
                    await response.read()
                    errors += response.status != 200
                    cached += response.headers.get("X-Cache") == "hit"
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return Load(len(latencies) / elapsed, percentile(latencies, 0.99), errors, cached, len(latencies))


async def paced(base: str, paths: Iterator[str], rate: float, clients: int, seconds: float) -> Load:
    """Requests sent at a steady `rate` (a site's visitors arrive on their own, whether the last
    answer came or not) over at most `clients` connections; each latency counted from the moment its
    request was due, so that a request held back behind slow ones counts its wait."""
    latencies: list[float] = []
    errors = cached = 0
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(path: str, due: float) -> None:
            nonlocal errors, cached
            async with session.get(base + path, headers=BROWSER_ENCODINGS) as response:
                await response.read()
                errors += response.status != 200
                cached += response.headers.get("X-Cache") == "hit"
            latencies.append(time.perf_counter() - due)

        started, tasks = time.perf_counter(), []
        for n in range(int(rate * seconds)):
            due = started + n / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(one(next(paths), due)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    return Load(len(latencies) / elapsed, percentile(latencies, 0.99), errors, cached, len(latencies))


async def indicators_caught_up(api: str, timeout: float = 600) -> None:
    """Wait until the national indicators count every organisation of the registry."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{api}/api/v1/organizations?page_size=1") as response:
            total = (await response.json())["total"]
        while time.monotonic() < deadline:
            async with session.get(f"{api}/api/v1/indicators?scope=national") as response:
                body = await response.json() if response.status == 200 else {"data": []}
            if body["data"] and body["data"][0]["values"].get("organizations") == total:
                return
            await asyncio.sleep(2)
    raise TimeoutError("the indicators did not catch up with the référentiel")


async def browser_timings(api: str, loads: int = 3) -> tuple[list[float], list[float], int, str]:
    """Times to the first table rows (`loads` fresh pages) and to the map drawn (the first visitor,
    then `loads` more), and the steps of the last map page."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = await browser.new_page()
        await page.goto(f"{api}/?vue=table")  # the browser's cache holds the page's code, as a returning visitor's does
        await page.wait_for_selector("table.organisations tbody tr")
        await page.close()
        tables, maps = [], []
        for _ in range(loads):
            page = await browser.new_page()
            started = time.perf_counter()
            await page.goto(f"{api}/?vue=table")
            await page.wait_for_selector("table.organisations tbody tr")
            tables.append(time.perf_counter() - started)
            await page.close()
        for _ in range(1 + loads):
            page = await browser.new_page()
            started = time.perf_counter()
            await page.goto(f"{api}/?vue=map&type=COM")
            await page.wait_for_selector("#vue[data-state=ready]", timeout=60_000)
            maps.append(time.perf_counter() - started)
            placed = int(await page.get_attribute("#vue", "data-points") or 0)
            fetches = await page.evaluate(
                """[...performance.getEntriesByType('resource').filter(e => e.name.includes('/api/v1/'))
                      .map(e => `${new URL(e.name).pathname.split('/').pop()} ${Math.round(e.responseEnd)} ms`),
                    ...performance.getEntriesByType('mark').map(m => `${m.name} ${Math.round(m.startTime)} ms`)]
                   .join(', ')"""
            )
            await page.close()
            await asyncio.sleep(3)  # past the api's micro-cache: the next visitor gets this answer stale
        await browser.close()
    return tables, maps, placed, fetches


async def datasets_consolidated(settings: Settings, count: int) -> None:
    """Publish `count` portals' datasets (bench.consolidation's) and wait until the consolidator has
    merged them and the indicators have read every change it published."""
    world = build_world(portals=1000, datasets_per_portal=220, seed=2026, referentiel=settings.referentiel_path)
    batch = list(consolidation.events(world, count, settings.harvest_concurrency))
    for start in range(0, len(batch), 50_000):  # a bounded producer queue
        await consolidation.write_events(settings, batch[start : start + 50_000])
    del batch
    await drained(settings, "consolidator", "harvest.datasets", timeout=3600)
    conn = await connect_as(settings)
    try:
        await wait_for(lambda: _value(conn, "SELECT count(*) = 0 FROM registry.outbox"), timeout=3600, interval=1)
    finally:
        await conn.close()
    await drained(settings, "indicators", "registry.datasets", timeout=3600)


async def _value(conn: asyncpg.Connection, sql: str) -> object:
    return await conn.fetchval(sql)


async def first_bytes(api: str, paths: list[str]) -> list[tuple[str, float]]:
    """Time from each download's request to its first byte of data, one download at a time."""
    timings = []
    async with aiohttp.ClientSession() as session:
        for path in paths:
            started = time.perf_counter()
            async with session.get(api + path) as response:
                await response.content.readany()
                timings.append((path, time.perf_counter() - started))
                response.close()  # the rest is not needed
    return timings


async def static_copy(api: str, path: str, static_dir: Path, name: str) -> int:
    """A static file of the same bytes as `path`'s answer; its size."""
    async with aiohttp.ClientSession() as session, session.get(api + path) as response:
        body = await response.read()
    (static_dir / name).write_bytes(body)
    return len(body)


async def publishers(api: str) -> list[str]:
    """The 200 organisations with most datasets, whose pages the datasets load asks."""
    url = f"{api}/api/v1/organizations?sort=-datasets&page_size=200"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return [o["id"] for o in (await response.json())["data"] if o["datasets"]]


async def main(seconds: float, clients: int, count: int) -> None:
    static_dir = Path(tempfile.mkdtemp(prefix="obs-bench-static-"))
    shutil.copytree(ROOT / "frontend/dist", static_dir, dirs_exist_ok=True)
    settings = bench_settings(frontend_dir=static_dir)
    logs = log_dir("public")
    await prepare(settings)
    services = [start_service(name, settings, logs) for name in ("consolidator", "indicators", "api")]
    try:
        for service in services:
            await service.wait_ready()
        await load_and_wait(settings, timeout=900)
        await datasets_consolidated(settings, count)
        api = services[-1].url
        await indicators_caught_up(api)  # measure on a quiet machine, not beside the recomputation
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{api}/api/v1/organizations?type=COM&page_size=1") as response:
                communes = (await response.json())["total"]
            async with session.get(f"{api}/api/v1/datasets?page_size=1") as response:
                listed = await response.json()
        # The list's total of a large selection is the planner's estimate (`total_exact: false`).
        datasets = f"{'' if listed['total_exact'] else 'about '}{listed['total']:,}"
        list_path = "/api/v1/organizations?page_size=50&sort=-population"
        datasets_path = "/api/v1/datasets?page_size=50&format=csv"
        list_bytes = await static_copy(api, list_path, static_dir, "same-size.json")
        datasets_bytes = await static_copy(api, datasets_path, static_dir, "same-size-datasets.json")
        ids = await publishers(api)

        # The browser first, on a quiet machine: right after the load below, the same page takes a
        # few tenths of a second longer (measured), which says more about the load than the page.
        tables, maps, placed, fetches = await browser_timings(api)
        organisations = await list_loads(api, "/same-size.json", lambda seed: list_requests(seed), list_path,
                                         clients, seconds)  # fmt: skip
        datasets_lists = await list_loads(api, "/same-size-datasets.json",
                                          lambda seed: dataset_requests(seed, publisher_ids=ids), datasets_path,
                                          clients, seconds)  # fmt: skip
        downloads = await first_bytes(api, [
            "/api/v1/exports/organizations.csv", "/api/v1/exports/organizations.csv?q=saint&sort=-population",
            "/api/v1/exports/organizations.csv?type=COM&departement=35&sort=-datasets",
            "/api/v1/exports/datasets.csv", "/api/v1/exports/datasets.csv?format=csv&licence=cc-by",
            "/api/v1/exports/datasets.csv?modified_since=2026-06-01", "/api/v1/exports/datasets.csv?q=budget",
            f"/api/v1/exports/datasets.csv?organization={ids[0]}",
        ])  # fmt: skip
    finally:
        for service in services:
            service.stop()
        if not os.environ.get("BENCH_KEEP"):
            await clean(settings)
        else:
            print("kept", settings.db_name, "with topics prefixed", settings.topic_prefix)
        shutil.rmtree(static_dir, ignore_errors=True)

    slowest = max(downloads, key=lambda d: d[1])
    rows = [
        ("world", f"{communes:,} communes among the organisations, {datasets} datasets listed"),
        ("response size: a page of 50 organisations; of 50 datasets", f"{list_bytes:,}; {datasets_bytes:,} bytes"),
        *organisations.rows("organisations list", "varied searches, filters, sorts, pages", clients),
        *datasets_lists.rows("datasets lists", "organisations' pages, filtered lists", clients),
        *((f"export, first byte: `{path}`", f"{seconds * 1000:.0f} ms") for path, seconds in downloads),
        ("Chromium: first table rows, median (max) of 3 pages (target < 1.5 s)",
         f"{median(tables):.2f} s ({max(tables):.2f} s)"),
        ("Chromium: map drawn with every commune, first visitor (points computed while waiting)",
         f"{maps[0]:.2f} s"),
        ("Chromium: map drawn with every commune, median (max) of the 3 next visitors (target < 2 s)",
         f"{median(maps[1:]):.2f} s ({max(maps[1:]):.2f} s; {placed:,} of {communes:,} placed)"),
        ("map page: API answers received and map steps, from navigation start", fetches),
    ]  # fmt: skip
    print_table(rows)
    print_headlines(
        organisations.headline(f"organisations list computed (varied queries), {clients} clients"),
        datasets_lists.headline(f"datasets lists computed (varied queries, {datasets} datasets), {clients} clients"),
        Headline(
            "exports: first byte, slowest of 8 selections",
            f"{slowest[1] * 1000:.0f} ms ({slowest[0].removeprefix('/api/v1/exports/')})",
            target="< 200 ms",
            met=slowest[1] < 0.2,
        ),
        Headline(
            "Chromium: first table rows, median of 3",
            f"{median(tables):.2f} s",
            target="< 1.5 s",
            met=median(tables) < 1.5,
        ),
        Headline(
            f"Chromium: map of {placed:,} communes drawn, median of 3 visitors after the first",
            f"{median(maps[1:]):.2f} s (first visitor {maps[0]:.2f} s)",
            target="< 2 s",
            met=median(maps[1:]) < 2,
        ),
    )


@dataclass
class ListLoads:
    """One list's figures beside the static file of one of its pages: the rate 64 clients get, each
    asking its next query as soon as it has its answer (the machine saturated: the p99 there is the
    queue's), the p99 of queries sent at the target rate, and one URL asked again and again."""

    static: Load
    computed: Load
    at_target: Load
    cached: Load

    def rows(self, name: str, varied: str, clients: int) -> list[tuple[str, str]]:
        return [
            (f"static file of a page of the {name}, {clients} clients", self.static.figures()),
            (f"{name} computed ({varied}), {clients} clients", self.computed.figures()),
            (f"{name} computed, sent at 0.30 of the static file's rate over {clients} connections",
             self.at_target.figures()),
            (f"{name} cached (one URL, from the micro-cache), {clients} clients", self.cached.figures()),
            (f"ratio {name} computed / static (target ≥ 0.30, p99 < 100 ms)",
             f"{self.computed.rate / self.static.rate:.2f}"),
            (f"ratio {name} cached / static (not the target: the cache's speed)",
             f"{self.cached.rate / self.static.rate:.2f}"),
        ]  # fmt: skip

    def headline(self, measure: str) -> Headline:
        computed, at_target = self.computed, self.at_target
        share = computed.cached / computed.requests if computed.requests else 0.0
        return Headline(
            measure,
            f"{computed.rate:,.0f}/s (p99 {computed.p99 * 1000:.0f} ms saturated), p99 {at_target.p99 * 1000:.0f} ms "
            f"at 0.30 of the static rate; {share:.0%} from the cache ({self.cached.rate:,.0f}/s cached)",
            f"static file of the same size {self.static.rate:,.0f}/s",
            f"{computed.rate / self.static.rate:.2f}",
            "≥ 0.30, p99 < 100 ms",
            computed.rate / self.static.rate >= TARGET_RATIO and at_target.p99 < 0.1,
        )


async def list_loads(
    api: str, static_file: str, mix: Callable[[int], Iterator[str]], cached_path: str, clients: int, seconds: float
) -> ListLoads:
    """A list's loads, in this order: the static file alone, a warm-up of other queries of the mix
    (statements prepared, PostgreSQL's cache filled), the saturated loop, the target rate, one URL."""
    static = await load(api, itertools.repeat(static_file), clients, seconds)
    await load(api, mix(100), clients, WARM_UP_SECONDS)
    computed = await load(api, mix(1), clients, seconds)
    at_target = await paced(api, mix(2), TARGET_RATIO * static.rate, clients, seconds)
    cached = await load(api, itertools.repeat(cached_path), clients, seconds)
    return ListLoads(static, computed, at_target, cached)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--events", type=int, default=270_000)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.seconds, arguments.clients, arguments.events))
