"""Benchmark: consolidating DatasetDiscovered events already in Kafka.

With the whole référentiel in the registry, writes N DatasetDiscovered events (simulated portals'
datasets and data.gouv.fr's copies of a share of them, in the order the harvester publishes them) to
harvest.datasets while the consolidator is stopped, then starts it and measures the time from its
first consolidated record to the last committed record and the last DatasetChanged emitted. In the
same run it measures the two limits: reading the same messages from Kafka with no processing (one
aiokafka consumer), and COPYing the same rows into PostgreSQL (asyncpg `copy_records_to_table` into
a table shaped like the registry's portal records; the median of three COPYs timed before the
measured window and three after). Peak memory is the consolidator's VmHWM.

It also reads the CPU time PostgreSQL, the consolidators and Kafka used over the measured window, and
PostgreSQL's during the COPYs: PostgreSQL's time per dataset against its time per COPYed row says how
many rows' worth of database work a dataset costs, and its time alone over the machine's cores is the
fastest the consolidation could go were the consolidators' own work free. The same ratio in bytes of
WAL says how many rows' worth it writes: CPU time moves with the host's load from run to run, WAL
does not.

    .venv/bin/python -m bench.consolidation [--events 200000] [--consolidators 1]

`--consolidators N` starts N consolidator processes in one consumer group (peak memory is the
largest of them).

BENCH_KEEP=1 keeps the benchmark's database afterwards.
"""

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.support import (
    Headline,
    bench_settings,
    clean,
    cpu_seconds,
    is_kafka,
    is_postgresql,
    is_postgresql_autovacuum,
    is_postgresql_backend,
    is_postgresql_postmaster,
    is_service,
    log_dir,
    machine_busy_seconds,
    prepare,
    print_headlines,
    rss_mib,
    start_service,
)
from services.harvester.backends.udata import PAGE_SIZE
from shared.events import DatasetDiscovered, Publisher, Resource, UpstreamOrigin
from shared.identifiers import siren_from
from shared.settings import Settings
from simulated_portals.catalogue import World, build_world, dataset, is_mirrored
from simulated_portals.udata import BACKEND_OF_FAMILY
from tests.support.db import connect_as
from tests.support.kafka import end_offsets, wait_for
from tests.support.referentiel import load_and_wait


def harvest_order(sizes: list[int], concurrency: int, page: int = PAGE_SIZE) -> Iterator[tuple[int, int]]:
    """(portal, dataset index) in the order a harvester publishes them: `concurrency` portals at a time
    (`harvest_concurrency`), their pages of `page` datasets taking turns. Until 2026-12-03 this
    benchmark interleaved every portal dataset by dataset, which no harvester does: a batch of 2,000
    events then held 830 runs, each a row the consolidator updates once per batch."""
    for first in range(0, len(sizes), concurrency):
        group = range(first, min(first + concurrency, len(sizes)))
        for start in range(0, max(sizes[p] for p in group), page):
            for portal in group:
                yield from ((portal, index) for index in range(start, min(start + page, sizes[portal])))


def events(world: World, count: int, concurrency: int) -> Iterator[DatasetDiscovered]:
    """Local portals' datasets in the harvester's order (`harvest_order`), each followed by data.gouv.fr's
    copy when it has one, until `count`."""
    produced = 0
    portals = [p for p in world.portals if p.slug != world.datagouv_slug]
    for number, index in harvest_order([p.size for p in portals], concurrency):
        portal = portals[number]
        d = dataset(portal, index)
        siren = siren_from(d.publisher.siret)
        local = f"https://{portal.domain}"
        common = {
            "producer": "bench",
            "publisher": Publisher(name=d.publisher.name, remote_id=d.publisher.remote_id, siren=siren),
            "title": d.title.strip() or "Sans titre",
            "description": d.description,
            "licence": d.licence,
            "themes": list(d.themes),
            "tags": list(d.tags),
            "resources": [Resource(url=url, format=fmt) for url, fmt, _ in d.resources],
            "created": d.created,
            "modified": d.modified,
            "content_hash": f"{portal.slug}:{index}",
        }
        yield DatasetDiscovered(
            **common,
            run_id=f"run-{portal.slug}",
            source_id=portal.slug,
            portal_kind=portal.family,
            portal_url=local,
            remote_id=d.landing_page(local) if portal.family == "ods" else d.id,  # as the harvester does
            remote_url=d.landing_page(local),
        )
        produced += 1
        if produced < count and is_mirrored(portal, index):
            yield DatasetDiscovered(
                **common,
                run_id="run-datagouv",
                source_id="datagouv",
                portal_kind="udata",
                portal_url="https://www.data.gouv.fr",
                remote_id=f"dg-{portal.slug}-{index}",
                upstream=UpstreamOrigin(
                    backend=BACKEND_OF_FAMILY[portal.family],
                    domain=portal.domain,
                    remote_id=d.landing_page(local) if portal.family == "ods" else d.id,
                    remote_url=d.landing_page(local),
                ),
            )
            produced += 1
        if produced >= count:
            return


COPIES_EACH_SIDE = 3  # COPYs of the limit timed before the measured window, and as many after


async def write_events(settings: Settings, batch: list[DatasetDiscovered]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers, enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    try:
        pending = []
        for event in batch:
            pending.append(
                await producer.send(
                    settings.topic("harvest.datasets"), event.model_dump_json().encode(), key=event.key().encode()
                )
            )
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def raw_consume_rate(settings: Settings, count: int) -> float:
    consumer = AIOKafkaConsumer(
        settings.topic("harvest.datasets"),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    try:
        started, seen = time.perf_counter(), 0
        while seen < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            seen += sum(len(records) for records in batches.values())
        return seen / (time.perf_counter() - started)
    finally:
        await consumer.stop()


@dataclass
class CopyTimes:
    """Each COPY of the limit, in the order they ran."""

    rate: list[float] = field(default_factory=list)  # rows/s
    cpu_per_row: list[float] = field(default_factory=list)  # PostgreSQL's CPU seconds
    wal_per_row: list[float] = field(default_factory=list)  # bytes of WAL


def copy_rows(batch: list[DatasetDiscovered]) -> list[tuple[str | None, ...]]:
    """The limit's rows: key, content and metadata as JSON, made before any clock starts, so that the
    limit is the COPY alone (it used to time the JSON of every event too, which understated the limit
    and overstated the ratio)."""
    return [
        (e.source_id, e.remote_id, e.remote_id, e.portal_kind, e.portal_url, e.remote_url, e.content_hash,
         e.model_dump_json())
        for e in batch
    ]  # fmt: skip


async def raw_copies(settings: Settings, rows: list[tuple[str | None, ...]], attempts: int, times: CopyTimes) -> None:
    """COPY the rows `attempts` times into a table shaped like the portal records, metadata as `json` as
    there (jsonb, which the portal records used before migration 005, COPYs about a fifth slower:
    25,649 against 32,601 rows/s in one run), each into a new table, with no autovacuum running. One
    COPY alone varied from 20,000 to 30,000 rows/s between runs, and PostgreSQL's CPU per row from 11
    to 19 µs within one: main() takes the median of COPYs timed before and after the measured window.
    Appends each COPY's figures to `times`."""
    conn = await connect_as(settings, "consolidator")
    try:
        for _ in range(attempts):
            await autovacuum_idle(settings)
            await conn.execute(
                """CREATE TABLE registry.bench_copy (source_id text, remote_id text, dataset_id text,
                       portal_kind text, portal_url text, remote_url text, content_hash text, metadata json,
                       PRIMARY KEY (source_id, remote_id))"""
            )
            started, cpu_before, wal_before = time.perf_counter(), _postgresql_cpu(), await wal_position(conn)
            await conn.copy_records_to_table("bench_copy", schema_name="registry", records=rows)
            times.rate.append(len(rows) / (time.perf_counter() - started))
            times.cpu_per_row.append((_postgresql_cpu() - cpu_before) / len(rows))
            times.wal_per_row.append((await wal_position(conn) - wal_before) / len(rows))
            await conn.execute("DROP TABLE registry.bench_copy")
    finally:
        await conn.close()


async def autovacuum_idle(settings: Settings, timeout: float = 300) -> None:
    """Wait until no autovacuum worker runs: PostgreSQL's CPU is read over all its processes, and a
    vacuum of the tables the consolidation just filled, started during a COPY, added up to half its
    time per row in some runs (14 to 21 µs from one run to the next)."""
    conn = await connect_as(settings)
    try:
        workers = "SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
        await wait_for(lambda: _value(conn, workers), timeout=timeout, interval=0.5)
    finally:
        await conn.close()


async def vacuum_registry(conn: asyncpg.Connection) -> None:
    """VACUUM (ANALYZE) every registry table, the référentiel's load included. Waiting for autovacuum to
    be idle is not enough: in a new database its first pass starts up to a minute later, and in one
    run of 200,000 events it fell in the measured window, where analysing the organisations, their
    history and aliases took 0.6 s of the window's 2.1 s of autovacuum, work the consolidation did
    not cause. A manual vacuum resets the counters autovacuum starts from."""
    tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'registry' ORDER BY 1")
    await conn.execute("VACUUM (ANALYZE) " + ", ".join(f"registry.{t['tablename']}" for t in tables))


async def table_writes(conn: asyncpg.Connection) -> dict[str, int]:
    """Rows each table of the registry has had inserted, updated or deleted so far (pg_stat)."""
    rows = await conn.fetch(
        """SELECT relname, n_tup_ins + n_tup_upd + n_tup_del AS written FROM pg_stat_user_tables
           WHERE schemaname = 'registry'"""
    )
    return {r["relname"]: int(r["written"]) for r in rows}


async def wal_position(conn: asyncpg.Connection) -> int:
    """Bytes of WAL PostgreSQL has written so far (all databases): unlike CPU time, it does not move
    with the host's load, so two runs of the same code tell the same story."""
    return int(await conn.fetchval("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')"))


def _postgresql_cpu() -> float:
    return cpu_seconds({"postgresql": is_postgresql})["postgresql"]


async def _value(conn: asyncpg.Connection, sql: str) -> object:
    return await conn.fetchval(sql)


async def main(count: int, instances: int) -> None:
    settings = bench_settings()
    logs = log_dir("consolidation")
    await prepare(settings)
    world = build_world(portals=1000, datasets_per_portal=200, seed=2026, referentiel=settings.referentiel_path)
    batch = list(events(world, count, settings.harvest_concurrency))
    consolidators = [start_service("consolidator", settings, logs)]
    try:
        await consolidators[0].wait_ready()
        await load_and_wait(settings, indicators=False, timeout=600)
        consolidators.pop().stop()
        conn = await connect_as(settings, "consolidator")
        organizations_before = await end_offsets(settings, "registry.organizations")
        datasets_before = await end_offsets(settings, "registry.datasets")

        await write_events(settings, batch)
        await vacuum_registry(conn)  # the référentiel's load vacuumed and analysed before the window, not in it
        limit_rows, copies = copy_rows(batch), CopyTimes()
        await raw_copies(settings, limit_rows, COPIES_EACH_SIDE, copies)  # the limit, timed alone, before
        await autovacuum_idle(settings)
        written_before = await table_writes(conn)
        consolidators = [
            start_service("consolidator", settings.model_copy(update={"consolidator_port": 28102 + 10 * n}), logs)
            for n in range(instances)
        ]
        # Records committed, as each batch counts them for its runs: a sum over a thousand runs rather than a
        # count over the records, so that polling ten times a second takes nothing from the measured work.
        records = "SELECT coalesce(sum(consolidated), 0) FROM registry.harvest_runs"
        groups = {
            "postgresql": is_postgresql,
            "backends": is_postgresql_backend,
            "autovacuum": is_postgresql_autovacuum,
            "postmaster": is_postgresql_postmaster,
            "consolidators": is_service("consolidator"),
            "kafka": is_kafka,
        }
        await wait_for(lambda: _value(conn, records), timeout=600, interval=0.02)
        started, cpu_before, machine_before = time.perf_counter(), cpu_seconds(groups), machine_busy_seconds()
        wal_before = await wal_position(conn)
        await wait_for(lambda: _value(conn, f"SELECT ({records}) >= {len(batch)}"), timeout=3600, interval=0.1)
        committed = time.perf_counter() - started
        await wait_for(lambda: _value(conn, "SELECT count(*) = 0 FROM registry.outbox"), timeout=3600, interval=0.05)
        emitted = time.perf_counter() - started
        wal = (await wal_position(conn) - wal_before) / len(batch)
        cpu = {group: used - cpu_before[group] for group, used in cpu_seconds(groups).items()}
        busy, total = (after - before for after, before in zip(machine_busy_seconds(), machine_before, strict=True))
        peak = max(rss_mib(c.process.pid, "VmHWM") for c in consolidators)  # type: ignore[union-attr]
        canonical = await conn.fetchval("SELECT count(*) FROM registry.datasets WHERE NOT withdrawn")
        with_copies = await conn.fetchval(
            "SELECT count(*) FROM (SELECT dataset_id FROM registry.dataset_sources GROUP BY 1 HAVING count(*) > 1) x"
        )
        attributed = await conn.fetchval("SELECT count(*) FROM registry.datasets WHERE organization_id IS NOT NULL")
        # An idle backend flushes its table statistics to pg_stat within 10 s (PostgreSQL 15): 1.5 s missed
        # about a tenth of the rows in some runs.
        await asyncio.sleep(11)
        written = {t: n - written_before.get(t, 0) for t, n in (await table_writes(conn)).items()}
        await conn.close()
        changed = await end_offsets(settings, "registry.datasets") - datasets_before
        organizations = await end_offsets(settings, "registry.organizations") - organizations_before
    finally:
        for process in consolidators:
            process.stop()

    consume = await raw_consume_rate(settings, len(batch))
    await raw_copies(settings, limit_rows, COPIES_EACH_SIDE, copies)  # and after
    copy, copy_database_cpu = statistics.median(copies.rate), statistics.median(copies.cpu_per_row)
    copy_wal = statistics.median(copies.wal_per_row)
    if not os.environ.get("BENCH_KEEP"):
        await clean(settings)
    else:
        print("kept", settings.db_name)
    rate = len(batch) / emitted
    limit = min(consume, copy)
    database_cpu = cpu["postgresql"] / len(batch)
    ceiling = (os.cpu_count() or 1) / database_cpu  # PostgreSQL's work alone, on every core
    print("| measure | value |")
    print("|---|---|")
    print(f"| DatasetDiscovered events in Kafka, consolidator processes | {len(batch):,}, {instances} |")
    print(
        f"| canonical datasets (with several portal records), attributed | {canonical:,} ({with_copies:,}), "
        f"{attributed:,} |"
    )
    print(f"| DatasetChanged, OrganizationChanged emitted | {changed:,}, {organizations:,} |")
    print(f"| first record to last committed record, to last event emitted | {committed:.1f} s, {emitted:.1f} s |")
    print(f"| **consolidation rate** | **{rate:,.0f} datasets/s** |")
    print(f"| raw Kafka consumption, same messages | {consume:,.0f} messages/s |")
    print(f"| raw PostgreSQL COPY, same rows | {copy:,.0f} rows/s |")
    print(f"| ratio to the slower limit (target ≥ 0.20) | {rate / limit:.2f} |")
    print(f"| consolidator peak RSS (target < 500 MB) | {peak:.0f} MiB |")
    print(
        f"| CPU over the window: PostgreSQL, consolidators, Kafka (machine busy) | {cpu['postgresql']:.1f} s, "
        f"{cpu['consolidators']:.1f} s, {cpu['kafka']:.1f} s ({busy / total:.0%} of {os.cpu_count()} cores) |"
    )
    print(
        f"| PostgreSQL CPU per dataset, per COPYed row | {database_cpu * 1e6:.0f} µs, {copy_database_cpu * 1e6:.0f} µs "
        f"({database_cpu / copy_database_cpu:.1f} rows' worth; the COPYs before: "
        f"{', '.join(f'{c * 1e6:.0f}' for c in copies.cpu_per_row[:COPIES_EACH_SIDE])}, after: "
        f"{', '.join(f'{c * 1e6:.0f}' for c in copies.cpu_per_row[COPIES_EACH_SIDE:])} µs) |"
    )
    vacuum = cpu["autovacuum"] + cpu["postmaster"]
    print(
        f"| PostgreSQL CPU: client backends, autovacuum (live or reaped), background processes | "
        f"{cpu['backends']:.1f} s, {vacuum:.1f} s, {cpu['postgresql'] - cpu['backends'] - vacuum:.1f} s |"
    )
    print(
        f"| PostgreSQL WAL per dataset, per COPYed row | {wal:,.0f} B, {copy_wal:,.0f} B "
        f"({wal / copy_wal:.1f} rows' worth) |"
    )
    by_table = ", ".join(f"{t} {n / len(batch):.2f}" for t, n in sorted(written.items(), key=lambda x: -x[1]) if n)
    print(
        f"| rows written per dataset (inserted, updated or deleted; index entries not counted) | "
        f"{sum(written.values()) / len(batch):.2f}: {by_table} |"
    )
    print(
        f"| ceiling: PostgreSQL's work alone on every core (ratio) | {ceiling:,.0f} datasets/s "
        f"({ceiling / limit:.2f}) |"
    )
    print_headlines(
        Headline(
            f"consolidation of {len(batch):,} DatasetDiscovered, {instances} process(es)",
            f"{rate:,.0f} datasets/s",
            f"raw Kafka consumption {consume:,.0f}/s, raw COPY {copy:,.0f} rows/s",
            f"{rate / limit:.2f}",
            "≥ 0.20 of the slower limit",
            rate / limit >= 0.20,
        ),
        Headline("consolidator peak RSS", f"{peak:.0f} MiB", target="< 500 MB", met=peak * 2**20 < 500e6),
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.consolidation")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--consolidators", type=int, default=1, help="processes in the consumer group")
    args = parser.parse_args()
    asyncio.run(main(args.events, args.consolidators))
