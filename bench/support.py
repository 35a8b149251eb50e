"""What the benchmarks share: an isolated database and topic prefix on the real broker and PostgreSQL,
services started as processes, memory readings."""

import asyncio
import os
import secrets
import subprocess
import sys
from pathlib import Path

from shared.bootstrap import bootstrap_database, delete_topics, drop_database, ensure_topics
from shared.settings import Settings
from tests.support.processes import ROOT, ServiceProcess, ensure_infrastructure, service_env


def bench_settings(**overrides: object) -> Settings:
    run = secrets.token_hex(3)
    return Settings(
        topic_prefix=f"bench{run}.",
        db_name=f"observatoire_bench_{run}",
        api_port=28000,
        harvester_port=28001,
        consolidator_port=28002,
        indicators_port=28003,
        contributions_port=28004,
        simulator_port=28090,
        allow_private_sources=True,
        **overrides,
    )  # type: ignore[arg-type]


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


def start_module(module: str, args: list[str], settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=service_env(settings),
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """Resident memory (VmRSS) or its peak (VmHWM) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def log_dir(name: str) -> Path:
    path = ROOT / "var" / "bench" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


async def run_command(*args: str, settings: Settings) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        cwd=ROOT,
        env=service_env(settings),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    if process.returncode:
        raise RuntimeError(out.decode())
    return out.decode()


def cpu_count() -> int:
    return os.cpu_count() or 1
