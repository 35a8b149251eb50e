"""What the benchmarks share: an isolated database and topic prefix on the real broker and PostgreSQL,
services started as processes, memory readings."""

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from shared.bootstrap import bootstrap_database, delete_topics, drop_database, ensure_topics
from shared.settings import Settings
from tests.support.processes import ROOT, ServiceProcess, ensure_infrastructure, isolated_settings


def bench_settings(**overrides: object) -> Settings:
    return isolated_settings("bench", 28000, **overrides)


async def prepare(settings: Settings) -> None:
    ensure_infrastructure()
    await bootstrap_database(settings)
    await ensure_topics(settings)


async def clean(settings: Settings) -> None:
    await drop_database(settings)
    await delete_topics(settings)


def start_service(name: str, settings: Settings, log_dir: Path) -> ServiceProcess:
    process = ServiceProcess(name, settings, log_dir)
    process.start()
    return process


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """Resident memory (VmRSS) or its peak (VmHWM) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

ProcessGroup = Callable[[str, str], bool]  # whether a process (its command name, its command line) belongs


def is_postgresql(comm: str, cmdline: str) -> bool:
    return comm == "postgres"


def is_postgresql_backend(comm: str, cmdline: str) -> bool:
    """A client's connection (its title names the client's address)."""
    return comm == "postgres" and ("127.0.0.1(" in cmdline or "[local]" in cmdline)


def is_postgresql_postmaster(comm: str, cmdline: str) -> bool:
    """The postmaster, which counts its reaped children: autovacuum workers that ended, closed backends."""
    return comm == "postgres" and not cmdline.startswith("postgres:")


def is_postgresql_autovacuum(comm: str, cmdline: str) -> bool:
    return comm == "postgres" and "autovacuum worker" in cmdline


def is_kafka(comm: str, cmdline: str) -> bool:
    return "kafka.Kafka" in cmdline


def is_service(name: str) -> ProcessGroup:
    return lambda comm, cmdline: f"services.{name}" in cmdline


def cpu_seconds(groups: dict[str, ProcessGroup]) -> dict[str, float]:
    """CPU time (user and system) each group of processes has used so far, children that ended
    included (a parent counts its reaped children's time: the postmaster counts the backends that
    closed). The difference of two readings is what the group used in between."""
    used = dict.fromkeys(groups, 0.0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # ended meanwhile
            continue
        comm, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        for group, member in groups.items():
            if member(comm, cmdline):
                used[group] += sum(int(tick) for tick in fields[11:15]) / CLOCK_TICKS  # utime stime cutime cstime
    return used


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, every core summed."""
    ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks[:8]) - idle) / CLOCK_TICKS, sum(ticks[:8]) / CLOCK_TICKS


def log_dir(name: str) -> Path:
    path = ROOT / "var" / "bench" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def print_table(rows: list[tuple[str, str]]) -> None:
    """A benchmark's results as the markdown table the READMEs and notes quote."""
    print("| measure | value |")
    print("|---|---|")
    for label, value in rows:
        print(f"| {label} | {value} |")


def percentile(values: list[float], p: float) -> float:
    """The value below which a share `p` of `values` lies (0 when there are none)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else 0.0


HEADLINE_PREFIX = "BENCH-HEADLINE "


@dataclass(frozen=True)
class Headline:
    """One line of the combined report's summary (`python -m bench.report`): a measure beside the
    limit measured in the same run, their ratio, and the issue's target when there is one."""

    measure: str
    value: str
    limit: str = "—"
    ratio: str = "—"
    target: str = "—"
    met: bool | None = None


def print_headlines(*headlines: Headline) -> None:
    """The benchmark's headlines as JSON lines after its table, for bench.report to collect."""
    for headline in headlines:
        print(HEADLINE_PREFIX + json.dumps(asdict(headline), ensure_ascii=False))
