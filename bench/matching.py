"""Benchmark: publisher matching against the full référentiel.

Reports publishers matched per second and the memory of the index, beside a baseline measured in the
same run: normalising the same strings and looking them up in a plain dict (the least work any
name matcher must do). Run: `.venv/bin/python -m bench.matching` (or `make bench`).
"""

import csv
import gc
import resource
import statistics
import time
import tracemalloc
from pathlib import Path

from bench.support import Headline, print_headlines
from services.consolidator.referentiel import organizations, read_package
from shared.matching import Matcher, normalise
from shared.settings import Settings

LABELS = Path(__file__).resolve().parents[1] / "tests" / "data" / "publishers.csv"
ROUNDS = 20
TRIALS = 7


def main() -> None:
    registry = organizations(read_package(Settings().referentiel_path))
    with LABELS.open(newline="") as f:
        rows = list(csv.DictReader(f))
    publishers = [(r["publisher"], r["departement"] or None) for r in rows] * ROUNDS

    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    matcher = Matcher(registry)
    build_seconds = time.perf_counter() - started
    index_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()

    # Matcher and baseline timed in turns, each rate the median of its trials: on a shared machine a
    # single pass of either moved the ratio from 0.14 to 0.22 between two runs.
    plain = {normalise(o.name): o.id for o in registry}
    match_rates, baseline_rates = [], []
    for _ in range(TRIALS):
        started = time.perf_counter()
        matched = sum(1 for name, dep in publishers if matcher.match(name, departement=dep).best)
        match_rates.append(len(publishers) / (time.perf_counter() - started))
        started = time.perf_counter()
        found = sum(1 for name, _ in publishers if normalise(name) in plain)
        baseline_rates.append(len(publishers) / (time.perf_counter() - started))
    match_rate, baseline_rate = statistics.median(match_rates), statistics.median(baseline_rates)

    print("| measure | value |")
    print("|---|---|")
    print(f"| organisations indexed | {len(registry):,} |")
    print(f"| index build | {build_seconds:.2f} s |")
    print(f"| index memory (tracemalloc) | {index_bytes / 2**20:.1f} MiB |")
    print(f"| process peak RSS | {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB |")
    print(f"| publishers matched per second | {match_rate:,.0f} ({matched:,} of {len(publishers):,} matched) |")
    print(f"| baseline: normalise + dict lookup per second | {baseline_rate:,.0f} ({found:,} found) |")
    print(f"| ratio matcher / baseline | {match_rate / baseline_rate:.2f} |")
    print_headlines(
        Headline(
            "publishers matched against the référentiel",
            f"{match_rate:,.0f}/s",
            f"normalise + dict lookup {baseline_rate:,.0f}/s",
            f"{match_rate / baseline_rate:.2f}",
        )
    )


if __name__ == "__main__":
    main()
