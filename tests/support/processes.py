"""Starting the real infrastructure and the five services as processes, as `make up` does."""

import asyncio
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

from shared.settings import SERVICES, Settings

ROOT = Path(__file__).resolve().parents[2]
PORT_ORDER = ("api", "harvester", "consolidator", "indicators", "contributions")  # default ports 8000-8004


def ensure_infrastructure() -> None:
    """Start Kafka and PostgreSQL unless they already answer (both scripts are idempotent)."""
    for script in ("infra/kafka/kafka.sh", "infra/postgres/postgres.sh"):
        subprocess.run([str(ROOT / script), "start"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


def service_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if value is not None:
            env[f"OBS_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


class ServiceProcess:
    def __init__(self, name: str, settings: Settings, log_dir: Path) -> None:
        self.name = name
        self.settings = settings
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.settings.http_host}:{self.settings.port_of(self.name)}"

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.name}"],
            cwd=ROOT,
            env=service_env(self.settings),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    async def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        async with aiohttp.ClientSession() as session:
            while asyncio.get_running_loop().time() < deadline:
                if self.process and self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited; log:\n{self.log_path.read_text()[-3000:]}")
                try:
                    async with session.get(f"{self.url}/readyz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.3)
        raise RuntimeError(f"{self.name} not ready after {timeout} s; log:\n{self.log_path.read_text()[-3000:]}")


def start_module(module: str, args: list[str], settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """`python -m module args` with the settings in its environment, its output appended to `log`."""
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=service_env(settings),
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def all_services(settings: Settings, log_dir: Path) -> dict[str, ServiceProcess]:
    return {name: ServiceProcess(name, settings, log_dir) for name in SERVICES}


EPHEMERAL_PORTS_START = 32768


def isolated_settings(label: str, port_base: int, **overrides: Any) -> Settings:
    """Settings of a run sharing the machine's broker and PostgreSQL with anything else: its own
    database, topic prefix and ports (`port_base` + 0..4 for the services, + 90 for the simulator)."""
    # Below Linux's ephemeral range (32768 and up): an outgoing connection may hold any port of
    # that range as its local port, and a service restarted there fails to bind (seen in CI).
    if port_base + 99 >= EPHEMERAL_PORTS_START:
        raise ValueError(f"port base {port_base} reaches the ephemeral ports ({EPHEMERAL_PORTS_START} and up)")
    run = secrets.token_hex(3)
    ports = {f"{service}_port": port_base + n for n, service in enumerate(PORT_ORDER)}
    return Settings(
        topic_prefix=f"{label}{run}.",
        db_name=f"observatoire_{label}_{run}",
        **ports,
        simulator_port=port_base + 90,
        editions_dir=ROOT / "var/test-editions" / f"{label}{run}",
        allow_private_sources=True,
        # Every simulated portal is on one host: no pacing between their requests.
        **{"harvest_per_host_concurrency": 4, "harvest_per_host_interval_seconds": 0.0, **overrides},
    )


async def run_module(settings: Settings, *args: str) -> str:
    """Run `python -m ...` with the settings in its environment; its output, or an error with it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        *args,
        cwd=ROOT,
        env=service_env(settings),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    if process.returncode:
        raise RuntimeError(f"python -m {' '.join(args)} failed:\n{out.decode()}")
    return out.decode()


def small_world_arguments(datasets_per_portal: int) -> list[str]:
    """Simulator arguments for a world as small as `build_world` makes it by default (a few publishers,
    data.gouv.fr with half a local portal's datasets) instead of the demo's."""
    return ["--publishers", "few", "--national-datasets", str(max(10, datasets_per_portal // 2))]
