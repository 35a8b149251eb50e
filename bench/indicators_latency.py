"""Benchmark: how long after a dataset is discovered do its indicators move?

With the whole référentiel in the registry and the consolidator and indicators services running,
publishes N DatasetDiscovered events at a steady rate (the flow), and meanwhile a probe every half
second: a new dataset of one organisation. Latency is measured from publishing the probe to receiving
the IndicatorsUpdated of its organisation (with the new count), and of the national scope from the
same recomputation. In the same run, the limit: the round trip of a message through Kafka alone
(produce, then consume it).

    .venv/bin/python -m bench.indicators_latency [--events 200000] [--rate 500]

The flow rate must stay below what the consolidator sustains (see bench/consolidation.py), or the
probes queue behind the flow and the latency only measures the backlog.
"""

import argparse
import asyncio
import json
import time
from typing import Any

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.consolidation import events
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
from shared.events import DatasetDiscovered, Publisher
from shared.identifiers import with_luhn_digit
from shared.settings import Settings
from simulated_portals.catalogue import build_world
from tests.support.referentiel import load_and_wait

PROBE_SIREN = with_luhn_digit("90000042")
PROBE_EVERY = 0.5


def probe(n: int) -> DatasetDiscovered:
    return DatasetDiscovered(
        producer="bench",
        run_id="probe",
        source_id="probe",
        portal_kind="udata",
        portal_url="https://probe.example",
        remote_id=f"probe-{n}",
        publisher=Publisher(name="Sonde", siren=PROBE_SIREN),
        title=f"Sonde {n}",
        content_hash=f"probe-{n}",
    )


async def flow(producer: AIOKafkaProducer, settings: Settings, batch: list[DatasetDiscovered], rate: float) -> None:
    topic, started = settings.topic("harvest.datasets"), time.perf_counter()
    for n, event in enumerate(batch):
        await producer.send(topic, event.model_dump_json().encode(), key=event.key().encode())
        ahead = n / rate - (time.perf_counter() - started)
        if ahead > 0:
            await asyncio.sleep(ahead)
    await producer.flush()


async def probes(producer: AIOKafkaProducer, settings: Settings, done: asyncio.Event, sent: dict[int, float]) -> None:
    n = 0
    while not done.is_set():
        n += 1
        event = probe(n)
        sent[n] = time.perf_counter()
        await producer.send_and_wait(
            settings.topic("harvest.datasets"), event.model_dump_json().encode(), key=event.key().encode()
        )
        await asyncio.sleep(PROBE_EVERY)


async def listen(consumer: AIOKafkaConsumer, received: list[tuple[float, dict[str, Any]]]) -> None:
    async for record in consumer:
        received.append((time.perf_counter(), json.loads(record.value)))


async def kafka_round_trip(settings: Settings, count: int = 200) -> list[float]:
    topic = settings.topic("harvest.runs.dlq")  # a topic nobody reads
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=settings.kafka_bootstrap_servers, auto_offset_reset="latest")
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_idempotence=True)
    await consumer.start()
    await producer.start()
    try:
        await consumer.seek_to_end()
        times = []
        for n in range(count):
            started = time.perf_counter()
            await producer.send_and_wait(topic, str(n).encode())
            await consumer.getone()
            times.append(time.perf_counter() - started)
        return times
    finally:
        await producer.stop()
        await consumer.stop()


async def batch_stats(url: str) -> dict[str, tuple[float, float, float]]:
    """Per consumer: batches handled, seconds spent, events handled (from the service's /metrics)."""
    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as response:
        text = await response.text()
    found: dict[str, list[float]] = {}
    for line in text.splitlines():
        for metric, slot in (("obs_batch_duration_seconds_count", 0), ("obs_batch_duration_seconds_sum", 1),
                             ("obs_batch_size_sum", 2)):  # fmt: skip
            if line.startswith(metric + "{"):
                consumer = line.split('consumer="', 1)[1].split('"', 1)[0]
                found.setdefault(consumer, [0.0, 0.0, 0.0])[slot] = float(line.rsplit(" ", 1)[1])
    return {c: (v[0], v[1], v[2]) for c, v in found.items() if v[0]}


async def main(count: int, rate: float) -> None:
    settings = bench_settings()
    logs = log_dir("indicators-latency")
    await prepare(settings)
    world = build_world(portals=1000, datasets_per_portal=200, seed=2027, referentiel=settings.referentiel_path)
    batch = list(events(world, count, settings.harvest_concurrency))
    services = [start_service(name, settings, logs) for name in ("consolidator", "indicators")]
    try:
        for service in services:
            await service.wait_ready()
        await load_and_wait(settings, timeout=900)

        consumer = AIOKafkaConsumer(
            settings.topic("indicators.updated"),
            settings.topic("registry.datasets"),
            bootstrap_servers=settings.kafka_bootstrap_servers,
        )
        await consumer.start()
        await consumer.seek_to_end()
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers, enable_idempotence=True, linger_ms=5
        )
        await producer.start()
        received: list[tuple[float, dict[str, Any]]] = []
        sent: dict[int, float] = {}
        listener = asyncio.create_task(listen(consumer, received))
        done = asyncio.Event()
        prober = asyncio.create_task(probes(producer, settings, done, sent))
        started = time.perf_counter()
        await flow(producer, settings, batch, rate)
        flowed = time.perf_counter() - started
        done.set()
        await prober
        await asyncio.sleep(10)  # the last probes' indicators
        listener.cancel()
        await producer.stop()
        await consumer.stop()
        batches = [await batch_stats(service.url) for service in services]
    finally:
        for service in services:
            service.stop()

    organization, national = latencies(received, sent)
    consolidated = consolidation_latencies(received, sent)
    round_trip = await kafka_round_trip(settings)
    await clean(settings)
    kafka_p50, kafka_p95 = percentile(round_trip, 0.5), percentile(round_trip, 0.95)
    rows = [
        ("flow: DatasetDiscovered published, rate asked, rate reached",
         f"{len(batch):,}, {rate:,.0f}/s, {len(batch) / flowed:,.0f}/s"),
        ("probes sent, answered (organisation / national)", f"{len(sent)}, {len(organization)} / {len(national)}"),
        ("Kafka alone, produce then consume one message: p50, p95",
         f"{kafka_p50 * 1000:.1f} ms, {kafka_p95 * 1000:.1f} ms"),
    ]  # fmt: skip
    for label, values in (("DatasetChanged (consolidation)", consolidated), ("organisation", organization),
                          ("national", national)):  # fmt: skip
        if values:
            p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
            rows.append((f"latency to {label}: p50, p95, max (target p95 < 2 s for the IndicatorsUpdated)",
                         f"{p50:.2f} s, {p95:.2f} s, {max(values):.2f} s"))  # fmt: skip
            rows.append((f"ratio p95 {label} / Kafka round trip p95", f"{p95 / kafka_p95:.0f}"))
    for stats in batches:
        for consumer, (count, seconds, size) in sorted(stats.items()):
            rows.append(
                (
                    f"{consumer}: batches, mean duration, mean size",
                    f"{count:,.0f}, {seconds / count * 1000:.0f} ms, {size / count:.0f}",
                )
            )
    print_table(rows)
    headlines = []
    for label, values in (("organisation", organization), ("national", national)):
        if values:
            p95 = percentile(values, 0.95)
            headlines.append(
                Headline(
                    f"DatasetDiscovered to the {label}'s IndicatorsUpdated, p95 ({rate:,.0f} datasets/s flowing)",
                    f"{p95:.2f} s",
                    f"Kafka round trip p95 {kafka_p95 * 1000:.1f} ms",
                    f"{p95 / kafka_p95:.0f}",
                    "p95 < 2 s",
                    p95 < 2,
                )
            )
    print_headlines(*headlines)


def consolidation_latencies(received: list[tuple[float, dict[str, Any]]], sent: dict[int, float]) -> list[float]:
    """Per probe: when its DatasetChanged arrived on registry.datasets (the first half of the way)."""
    first: dict[int, float] = {}
    for at, event in received:
        for source in (event.get("dataset") or {}).get("sources", []):
            if source["source_id"] == "probe":
                first.setdefault(int(source["remote_id"].removeprefix("probe-")), at)
    return [at - sent[n] for n, at in first.items() if n in sent]


def latencies(received: list[tuple[float, dict[str, Any]]], sent: dict[int, float]) -> tuple[list[float], list[float]]:
    """Per probe n: when the probe organisation's count first reached n, and when the national update of
    the same recomputation (same `computed_at`) arrived."""
    organization: list[float] = []
    national: list[float] = []
    national_at = {}
    received = [(at, event) for at, event in received if "scope" in event]
    for at, event in received:
        if event["scope"] == "national":
            national_at.setdefault(event["computed_at"], at)
    answered: set[int] = set()
    for at, event in received:
        if event["scope"] != "organization" or event["scope_id"] != PROBE_SIREN:
            continue
        count = int(event["values"].get("datasets") or 0)
        for n in range(1, count + 1):
            if n in sent and n not in answered:
                answered.add(n)
                organization.append(at - sent[n])
                if event["computed_at"] in national_at:
                    national.append(national_at[event["computed_at"]] - sent[n])
    return organization, national


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.indicators_latency")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=500.0, help="flow of DatasetDiscovered per second")
    args = parser.parse_args()
    asyncio.run(main(args.events, args.rate))
