"""`make bench`: every benchmark of bench/ in turn, each in its own process, and one markdown report.

The report opens with the machine and the commit, then a summary of every benchmark's headlines
(each measure beside the limit measured in the same run, their ratio, the target and whether it was
met), then each benchmark's full table. It is written to var/bench/report/report.md and, with `--docs`,
into docs/performance.md between its report markers.

    .venv/bin/python -m bench.report [--docs] [--only harvest public ...]
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.support import HEADLINE_PREFIX, Headline, log_dir
from tests.support.processes import ROOT

# Name, arguments. The indicators latency runs a shorter flow than its default (the whole référentiel
# is still loaded): 90,000 datasets at 200/s, 7.5 minutes of probes instead of 17. Shorter flows
# weigh the first minute too much (30,000: p95 2.7 to 3.2 s; 90,000: 1.0 s, the same evening).
BENCHMARKS: list[tuple[str, list[str]]] = [
    ("matching", []),
    ("harvest", ["--harvesters", "2"]),
    # The geocatalogues alone (200 of the 1,200 portals), against parsing their pages.
    ("harvest", ["--harvesters", "2", "--portals", "1200", "--families", "csw"]),
    ("consolidation", ["--consolidators", "2"]),
    ("indicators_latency", ["--events", "90000", "--rate", "200"]),
    ("public", []),
    ("load_during_harvest", []),
]
DOCS = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- report: begin -->", "<!-- report: end -->"


@dataclass
class Outcome:
    name: str
    arguments: list[str]
    seconds: float
    returncode: int
    table: list[str] = field(default_factory=list)
    headlines: list[Headline] = field(default_factory=list)


def run(name: str, arguments: list[str]) -> Outcome:
    """Run one benchmark, echoing its output as it comes, and keep its table and headlines."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", f"bench.{name}", *arguments],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    outcome = Outcome(name, arguments, 0.0, 0)
    for line in process.stdout:
        if line.startswith(HEADLINE_PREFIX):
            outcome.headlines.append(Headline(**json.loads(line.removeprefix(HEADLINE_PREFIX))))
            continue
        print(line, end="", flush=True)
        if line.startswith("|"):
            outcome.table.append(line.rstrip("\n"))
    outcome.returncode = process.wait()
    outcome.seconds = time.perf_counter() - started
    return outcome


def machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor() or "unknown",
    )  # fmt: skip
    memory_kib = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    return f"{os.cpu_count()} cores ({cpu}), {memory_kib / 2**20:.0f} GiB, Python {platform.python_version()}"


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    return git("rev-parse", "--short", "HEAD") + (" (with local changes)" if git("status", "--porcelain") else "")


def met(headline: Headline) -> str:
    return {True: "yes", False: "**no**", None: "—"}[headline.met]


def render(outcomes: list[Outcome], started: datetime) -> str:
    lines = [
        f"Run of {started:%Y-%m-%d %H:%M} UTC on {machine()}; commit {commit()}; "
        f"{sum(o.seconds for o in outcomes) / 60:.0f} minutes in all.",
        "",
        "| benchmark | measure | value | limit, same run | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        for h in o.headlines:
            lines.append(f"| {o.name} | {h.measure} | {h.value} | {h.limit} | {h.ratio} | {h.target} | {met(h)} |")
        if o.returncode:
            lines.append(f"| {o.name} | **failed** (exit code {o.returncode}; see its output) | | | | | |")
    for o in outcomes:
        command = " ".join(["python -m", f"bench.{o.name}", *o.arguments])
        lines += ["", f"### {o.name}", "", f"`{command}`, {o.seconds / 60:.1f} minutes", "", *o.table]
    return "\n".join(lines) + "\n"


def update_docs(report: str) -> None:
    text = DOCS.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOCS.write_text(f"{head}{BEGIN}\n{report}{END}{tail}")


def main(only: list[str], docs: bool) -> int:
    started = datetime.now(UTC)
    outcomes = [run(name, arguments) for name, arguments in BENCHMARKS if not only or name in only]
    report = render(outcomes, started)
    path = log_dir("report") / "report.md"
    path.write_text(report)
    print(f"\n{report}\nwritten to {path.relative_to(ROOT)}")
    if docs:
        update_docs(report)
        print(f"and to {DOCS.relative_to(ROOT)}")
    return max((o.returncode for o in outcomes), default=0)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", action="store_true", help="also write the report into docs/performance.md")
    parser.add_argument("--only", nargs="*", default=[], help="run these benchmarks only")
    arguments = parser.parse_args()
    sys.exit(main(arguments.only, arguments.docs))
