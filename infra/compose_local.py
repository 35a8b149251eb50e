"""docker-compose.yml run without a Docker engine: every service built from the project's image
becomes a local process with the command and environment compose gives its container, started in
compose's dependency order (a job run to its end, a service's healthcheck awaited where a dependent
asks for it), and the system they make is checked as a user would: the référentiel's organisations
served by the api, the source catalogue seeded, the api forwarding to the harvester and to the
contributions service, every instance's healthcheck passing, each scaled service's instances
sharing its consumer groups.

    .venv/bin/python infra/compose_local.py [--scale SERVICE=N ...] [--keep]

Before it starts anything, it refuses a compose file whose commands, files or settings the code and
the image do not have (`problems`). What a container has and a local process has not is translated,
and only that:
- the compose network: every service name resolves to 127.0.0.1, which is also its subnet, and
  0.0.0.0 (every interface of a container) is the loopback;
- ports: a service's port p is p + the offset locally (+100 per further instance of a scaled one),
  below the kernel's ephemeral range (refused otherwise): a port there may be the local end of any
  outgoing connection (to Kafka, PostgreSQL) at the moment a service binds it;
- kafka and postgres: the local broker and cluster (infra/kafka, infra/postgres), whose versions
  must be the images' (checked); Prometheus and Grafana are not started (their configuration is
  checked by tests/unit/test_operations.py);
- volumes: a directory each, under var/compose-local;
- secrets: the local cluster's passwords (its roles serve every local run; a random one would lock
  them out);
- isolation: a database and a topic prefix of its own, so that it runs beside the tests or `make up`;
- harvests are held (OBS_HARVEST_CONCURRENCY=0): the catalogue's portals are real hosts, and a
  check never reaches the internet.
"""

import argparse
import asyncio
import importlib.util
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

from shared.settings import SERVICES, Settings  # noqa: E402

CONSUMERS = ("harvester", "consolidator", "indicators", "contributions")  # may run as several instances
APP_DIR = "/app"  # the image's working directory: the repository's root here
INSTANCE_STEP = 100
PORT_OFFSET = 12000  # 8000 -> 20000: below Linux's ephemeral range (32768 and up by default)
HARVESTS_HELD = {"OBS_HARVEST_CONCURRENCY": "0"}
VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}|\$(\w+)")


class Refused(Exception):
    """The compose file cannot start this project: what is wrong, every point of it."""


class Failed(Exception):
    """What the started system did not do."""


# ---- Reading the compose file as compose does ------------------------------------------------------------


def interpolate(value: Any, variables: dict[str, str]) -> Any:
    """Compose's substitution: ${X}, ${X:-default}, ${X-default}, ${X:?error}, ${X?error}, $X, $$."""
    if isinstance(value, dict):
        return {k: interpolate(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, variables) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.group(1) or match.group(4), match.group(2), match.group(3)
        present = variables.get(name)
        unset = present is None or (present == "" and operator in (":-", ":?"))
        if operator in (":?", "?") and unset:
            raise Refused(f"variable {name}: {argument}")
        if operator in (":-", "-") and unset:
            return str(argument)
        return present or ""

    return VARIABLE.sub(substitute, value)


@dataclass
class Service:
    name: str
    spec: dict[str, Any]

    @property
    def built(self) -> bool:  # from the project's image, not a published one (kafka, postgres...)
        return "build" in self.spec

    @property
    def job(self) -> bool:  # runs to its end (init, the bootstrap jobs)
        return self.built and "restart" not in self.spec

    @property
    def command(self) -> list[str]:
        command = self.spec.get("command", [])
        return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]

    @property
    def environment(self) -> dict[str, str]:
        env = self.spec.get("environment", {})
        if isinstance(env, list):
            env = dict(item.split("=", 1) for item in env)
        return {str(k): "" if v is None else str(v) for k, v in env.items()}

    @property
    def depends_on(self) -> dict[str, str]:
        deps = self.spec.get("depends_on", {})
        if isinstance(deps, list):
            return dict.fromkeys(deps, "service_started")
        return {name: d.get("condition", "service_started") for name, d in deps.items()}

    @property
    def port(self) -> int | None:  # the port its healthcheck and Prometheus name
        return int(self.environment["PORT"]) if "PORT" in self.environment else None

    @property
    def healthcheck(self) -> list[str]:
        return [str(t) for t in self.spec.get("healthcheck", {}).get("test", [])]

    def health_patience(self) -> float:
        """Compose's: retries times the interval, after the start period."""
        check = self.spec.get("healthcheck", {})
        return _seconds(check.get("start_period", "0s")) + int(check.get("retries", 3)) * _seconds(
            check.get("interval", "30s")
        )

    def volumes(self) -> dict[str, str]:
        """Named volume -> where the container mounts it."""
        mounts = {}
        for volume in self.spec.get("volumes", []):
            source, target, *_ = str(volume).split(":")
            if not source.startswith((".", "/")):
                mounts[source] = target
        return mounts


def _seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", str(duration)))


def required_variables(text: str) -> list[str]:
    """The variables compose refuses to run without (`${X:?...}`)."""
    return sorted(set(re.findall(r"\$\{(\w+):?\?", text)))


def local_secrets(text: str) -> dict[str, str]:
    """What compose reads from .env: the local cluster's passwords where the code has such a setting."""
    defaults = Settings().model_dump()
    return {name: str(defaults.get(name.removeprefix("OBS_").lower(), uuid.uuid4().hex))
            for name in required_variables(text)}  # fmt: skip


def read(text: str, variables: dict[str, str]) -> dict[str, Any]:
    """The compose file's text, parsed, its variables substituted."""
    compose: dict[str, Any] = interpolate(yaml.safe_load(text), variables)
    return compose


def load(path: Path, variables: dict[str, str]) -> dict[str, Service]:
    return services_of(read(path.read_text(), variables))


def services_of(compose: dict[str, Any]) -> dict[str, Service]:
    return {name: Service(name, spec) for name, spec in compose["services"].items()}


def network_subnets(compose: dict[str, Any]) -> list[str]:
    networks = compose.get("networks", {}) or {}
    return [c["subnet"] for n in networks.values() for c in ((n or {}).get("ipam", {}) or {}).get("config", [])]


def start_order(services: dict[str, Service]) -> list[str]:
    """Compose's dependency order; a cycle or a dependency on no service is refused."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in order:
            return
        if name in visiting:
            raise Refused(f"dependency cycle: {' -> '.join((*path, name))}")
        visiting.add(name)
        for dependency in services[name].depends_on:
            if dependency not in services:
                raise Refused(f"{name} depends on {dependency}, which is no service of the file")
            visit(dependency, (*path, name))
        order.append(name)

    for name in services:
        visit(name, ())
    return order


# ---- What the code and the image have ----------------------------------------------------------------------


def dockerfile_final_stage(text: str) -> list[tuple[str, str]]:
    """The final stage's instructions, continuation lines joined: (INSTRUCTION, arguments)."""
    joined = re.sub(r"\\\n\s*", " ", text)
    instructions = [
        (m.group(1).upper(), m.group(2).strip())
        for m in re.finditer(r"^\s*([A-Za-z]+)\s+(.*)$", joined, re.MULTILINE)
        if not m.group(0).lstrip().startswith("#")
    ]
    last_from = max(i for i, (verb, _) in enumerate(instructions) if verb == "FROM")
    return instructions[last_from:]


def image_environment(dockerfile: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for verb, arguments in dockerfile_final_stage(dockerfile):
        if verb == "ENV":
            env.update(tuple(pair.split("=", 1)) for pair in shlex.split(arguments))  # type: ignore[misc]
    return env


def image_misses(dockerfile: str, paths: list[str]) -> list[str]:
    """The paths (relative to the image's working directory) no instruction of the final stage puts
    in the image: copied there (or a directory above them), or named as the output of a RUN."""
    provided: list[str] = []
    for verb, arguments in dockerfile_final_stage(dockerfile):
        words = shlex.split(arguments)
        if verb == "COPY":
            provided.append(words[-1].rstrip("/").removeprefix(APP_DIR + "/"))
        elif verb == "RUN":
            provided += [w for w in words if "/" in w and not w.startswith(("/", "-"))]
    return [p for p in paths if not any(p == d or p.startswith(d.rstrip("/") + "/") for d in provided)]


def runtime_paths() -> list[str]:
    """What the services read beside their code, relative to the project's root (shared/settings.py)."""
    settings = Settings()
    paths = [settings.referentiel_path, settings.geodata_dir, settings.frontend_dir]
    return [str(p.relative_to(ROOT)) for p in paths] + ["services", "shared"]


def kafka_version() -> str:
    pom = (ROOT / "infra/kafka/pom.xml").read_text()
    found = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom)
    assert found, "infra/kafka/pom.xml names no kafka.version"
    return found.group(1)


def arguments_refused(command: list[str]) -> str | None:
    """What the module's own parser says of the command's arguments: `--help` appended, it exits 0
    when every subcommand and option exists, 2 with argparse's message when one does not."""
    asked = subprocess.run(
        [sys.executable, *command[1:], "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    if asked.returncode == 0:
        return None
    said = asked.stderr.strip().splitlines()
    return f"`{shlex.join(command[2:])}` is refused by the code: {said[-1] if said else asked.returncode}"


def problems(services: dict[str, Service], dockerfile: str) -> list[str]:
    """Everything in the compose file that the code or the image does not have."""
    found: list[str] = []
    fields = set(Settings.model_fields)
    defaults = Settings()
    files = []
    for s in (s for s in services.values() if s.built):
        command = s.command
        if command[:2] != ["python", "-m"] or len(command) < 3:
            found.append(f"{s.name}: the command {command} is not `python -m MODULE ...`")
            continue
        module = command[2]
        if importlib.util.find_spec(module) is None or (
            not (ROOT / module.replace(".", "/")).with_suffix(".py").exists()
            and not (ROOT / module.replace(".", "/") / "__main__.py").exists()
        ):
            found.append(f"{s.name}: no module {module} in the project")
        if command[3:] and (refusal := arguments_refused(command)):
            found.append(f"{s.name}: {refusal}")
        for argument in command[3:]:
            if "/" in argument and not argument.startswith(("-", "/", "http")):
                files.append(argument)
                if not (ROOT / argument).exists():
                    found.append(f"{s.name}: {argument} does not exist in the project")
        for name in s.environment:
            if name.startswith("OBS_") and name.removeprefix("OBS_").lower() not in fields:
                found.append(f"{s.name}: {name} is no setting of the code (shared/settings.py)")
            elif not name.startswith("OBS_") and name != "PORT":
                found.append(f"{s.name}: {name} is read by nothing (settings are OBS_*, PORT names the port)")
        if s.job:
            continue
        if s.name not in SERVICES or module != f"services.{s.name}":
            found.append(f"{s.name}: a long-running service runs its own module, services.{s.name}")
            continue
        port = defaults.port_of(s.name)
        if s.port != port:
            found.append(f"{s.name}: PORT is {s.port}, the service listens on {port}")
        exposed = {str(p) for p in s.spec.get("expose", [])} | {
            str(p).rsplit(":", 1)[-1] for p in s.spec.get("ports", [])
        }
        if exposed != {str(port)}:
            found.append(f"{s.name}: exposes {sorted(exposed)}, the service listens on {port}")
        if "/readyz" not in " ".join(s.healthcheck):
            found.append(f"{s.name}: its healthcheck does not ask /readyz")
        if s.name in CONSUMERS and ({"ports", "container_name"} & set(s.spec)):
            found.append(f"{s.name}: a fixed host port or container name forbids `--scale {s.name}=2`")
    for s in services.values():
        for value in s.environment.values():
            for host, port_text in re.findall(r"\b([a-z][\w-]*):(\d+)\b", value):
                target = services.get(host)
                if target and target.built and target.port != int(port_text):
                    found.append(f"{s.name}: {host}:{port_text}, where {host} listens on {target.port}")
    kafka = services.get("kafka")
    if kafka and kafka.spec.get("image", "").rsplit(":", 1)[-1] != kafka_version():
        found.append(f"kafka: image {kafka.spec.get('image')}, the tests run Kafka {kafka_version()}")
    for missing in image_misses(dockerfile, [*runtime_paths(), *files]):
        found.append(f"the image lacks {missing}, which the services read at run time")
    return found


# ---- Running it as local processes -------------------------------------------------------------------------


@dataclass
class Instance:
    service: Service
    index: int
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def label(self) -> str:
        return f"{self.service.name}-{self.index + 1}"

    def last_words(self) -> str:
        """The end of what the instance printed: why it exited, for the failure's message."""
        return self.log.read_text(errors="replace")[-3000:] if self.log and self.log.exists() else ""


@dataclass
class Compose:
    """The compose file as compose reads it, with the Dockerfile beside it."""

    services: dict[str, Service]
    dockerfile: str
    subnets: list[str]
    order: list[str]  # compose's start order


@dataclass
class LocalHost(Compose):
    """The translation of compose's world into one machine's (the module's docstring lists it)."""

    offset: int
    workdir: Path
    isolation: dict[str, str]
    local: Settings = field(default_factory=Settings)

    def port(self, service: str, container_port: int, index: int = 0) -> int:
        target = self.services[service]
        if service == "kafka":
            return int(self.local.kafka_bootstrap_servers.rsplit(":", 1)[-1])
        if service == "postgres":
            return self.local.db_port
        return local_port(container_port, self.offset, index if target.built else 0)

    def translate(self, value: str, service: Service) -> str:
        for subnet in self.subnets:
            value = value.replace(subnet, "127.0.0.1/32")
        if value == "0.0.0.0":
            return "127.0.0.1"
        if value in self.services:
            return "127.0.0.1"
        for name, target in service.volumes().items():
            if value == target or value.startswith(target + "/"):
                value = str(self.workdir / "volumes" / name) + value[len(target) :]
        return re.sub(
            r"\b([a-z][\w-]*):(\d+)\b",
            lambda m: f"127.0.0.1:{self.port(m[1], int(m[2]))}" if m[1] in self.services else m[0],
            value,
        )

    def environment(self, service: Service, index: int) -> dict[str, str]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}
        given = {**image_environment(self.dockerfile), **service.environment}
        env |= {name: self.translate(value, service) for name, value in given.items()}
        if service.port is not None:
            local_port = self.port(service.name, service.port, index)
            env["PORT"] = str(local_port)
            env[f"OBS_{service.name.upper()}_PORT"] = str(local_port)
        for name in service.volumes():
            (self.workdir / "volumes" / name).mkdir(parents=True, exist_ok=True)
        return env | self.isolation | (HARVESTS_HELD if service.name == "harvester" else {})

    def command(self, service: Service) -> list[str]:
        return [sys.executable, *service.command[1:]]


def start_infrastructure() -> None:
    """The images' kafka and postgres are the local broker and cluster (both scripts are idempotent)."""
    for script in ("infra/kafka/kafka.sh", "infra/postgres/postgres.sh"):
        subprocess.run([str(ROOT / script), "start"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


async def infrastructure_versions(services: dict[str, Service], local: Settings) -> list[str]:
    """The local broker's and cluster's versions, which must be the images'."""
    from shared.bootstrap import admin_connect

    said = [f"kafka: the local broker, Kafka {kafka_version()} as infra/kafka/pom.xml pins it"]
    if postgres := services.get("postgres"):
        wanted = postgres.spec["image"].rsplit(":", 1)[-1].split(".")[0]
        conn = await admin_connect(local, "postgres")
        try:
            running = str(int(await conn.fetchval("SELECT current_setting('server_version_num')")) // 10000)
        finally:
            await conn.close()
        if running != wanted:
            raise Failed(f"postgres: compose runs PostgreSQL {wanted}, the local cluster is {running}")
        said.append(f"postgres: the local cluster, PostgreSQL {running} as the image")
    return said


async def healthy(instance: Instance, patience: float) -> None:
    test = instance.service.healthcheck
    argv = ["sh", "-c", test[1]] if test[0] == "CMD-SHELL" else test[1:]
    deadline = time.monotonic() + patience
    while True:
        if instance.process and instance.process.poll() is not None:
            code = instance.process.returncode
            raise Failed(f"{instance.label} exited with {code} before it was healthy:\n{instance.last_words()}")
        checked = await asyncio.create_subprocess_exec(
            *argv, env=instance.env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        if await checked.wait() == 0:
            return
        if time.monotonic() > deadline:
            raise Failed(f"{instance.label}: its healthcheck `{' '.join(test[1:])}` still fails after {patience:.0f} s")
        await asyncio.sleep(0.5)


@dataclass
class Run:
    host: LocalHost
    scale: dict[str, int]
    logs: Path
    instances: dict[str, list[Instance]] = field(default_factory=dict)
    said: list[str] = field(default_factory=list)

    async def start(self) -> None:
        self.said += await infrastructure_versions(self.host.services, self.host.local)
        for name in self.host.order:
            service = self.host.services[name]
            if not service.built:
                continue
            await self.dependencies_met(service)
            if service.job:
                await self.run_job(service)
            else:
                self.launch(service)

    async def dependencies_met(self, service: Service) -> None:
        for name, condition in service.depends_on.items():
            if condition == "service_healthy" and self.host.services[name].built:
                patience = self.host.services[name].health_patience()
                await asyncio.gather(*(healthy(i, patience) for i in self.instances[name]))

    async def run_job(self, service: Service) -> None:
        env = self.host.environment(service, 0)
        log = self.logs / f"{service.name}.log"
        with log.open("wb") as out:
            job = await asyncio.create_subprocess_exec(
                *self.host.command(service), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
            code = await asyncio.wait_for(job.wait(), timeout=600)
        if code != 0:
            raise Failed(f"job {service.name} exited with {code}:\n{log.read_text()[-2000:]}")
        printed = "; ".join(line for line in log.read_text().splitlines() if line.strip() and "NOTICE" not in line)
        self.said.append(f"job {service.name}: {shlex.join(service.command)} -> {printed or 'done'}")

    def launch(self, service: Service) -> None:
        instances = []
        for index in range(self.scale.get(service.name, 1)):
            instance = Instance(service, index, self.host.environment(service, index))
            instance.log = self.logs / f"{instance.label}.log"
            out = instance.log.open("wb")
            instance.process = subprocess.Popen(
                self.host.command(service), cwd=ROOT, env=instance.env, stdout=out, stderr=subprocess.STDOUT
            )
            instances.append(instance)
        self.instances[service.name] = instances

    def all_instances(self) -> Iterator[Instance]:
        for instances in self.instances.values():
            yield from instances

    def stop(self) -> None:
        for instance in self.all_instances():
            if instance.process and instance.process.poll() is None:
                instance.process.terminate()
        for instance in self.all_instances():
            if instance.process:
                try:
                    instance.process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    instance.process.kill()


# ---- What the started system must do -----------------------------------------------------------------------


async def until(what: str, check: Any, timeout: float) -> Any:
    """Poll `check` (an async callable returning a value or None) until it gives a value."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if (value := await check()) is not None:
                return value
        except (aiohttp.ClientError, OSError, KeyError) as exc:
            last_error = exc
        await asyncio.sleep(1)
    raise Failed(f"{what}: not within {timeout:.0f} s ({last_error!r})")


async def verify(run: Run) -> None:
    from services.consolidator.referentiel import organizations, read_package
    from services.harvester.__main__ import read_sources_file

    host = run.host
    api = f"http://127.0.0.1:{host.port('api', host.services['api'].port or 8000)}"
    expected = len(organizations(read_package(host.local.referentiel_path)))
    seed = next(s for s in host.services.values() if s.job and "seed" in s.command)
    catalogue_file = next(a for a in seed.command if a.endswith(".yaml"))
    catalogue, _ = read_sources_file(ROOT / catalogue_file)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:

        async def organisations_served() -> int | None:
            async with http.get(f"{api}/api/v1/organizations", params={"page_size": "1"}) as r:
                total = int((await r.json())["total"]) if r.status == 200 else 0
            return total if total >= expected else None

        total = await until("the référentiel's organisations served by the api", organisations_served, 300)
        run.said.append(f"api: {total} organisations served (the référentiel lists {expected})")

        async with http.get(f"{api}/api/v1/sources") as r:
            assert r.status == 200, f"GET /api/v1/sources through the api: {r.status}"
            listed = {s["id"] for s in (await r.json())["data"]}
        wanted = {s.to_source().id for s in catalogue}
        if listed != wanted:
            raise Failed(f"sources: the api lists {len(listed)}, the catalogue has {len(wanted)}")
        run.said.append(f"api -> harvester: {len(listed)} sources of {catalogue_file} listed, as seeded")

        async with http.get(f"{api}/api/v1/organizations", params={"page_size": "1", "type": "COM"}) as r:
            commune = (await r.json())["data"][0]
        proposal = {"field": "website", "value": "https://example.org/", "organization_id": commune["id"]}
        async with http.post(f"{api}/api/v1/contributions", json=proposal) as r:
            if r.status != 201:
                raise Failed(f"POST /api/v1/contributions through the api: {r.status} {await r.text()}")
            follow = (await r.json())["follow"]
        async with http.get(f"{api}{follow}") as r:
            status = (await r.json()).get("status")
        if status != "pending":
            raise Failed(f"GET {follow} through the api: {status}")
        run.said.append(f"api -> contributions: a proposal for {commune['name']} received, {follow} pending")

    for instance in run.all_instances():
        await healthy(instance, 30)
    run.said.append(f"healthchecks: {sum(1 for _ in run.all_instances())} instances pass theirs")
    for service, count in run.scale.items():
        if count > 1:
            shares = await until(f"{service}'s {count} instances sharing its groups",
                                 lambda s=service: shared_groups(run, s), 120)  # fmt: skip
            run.said.append(f"--scale {service}={count}: {shares}")


PARTITIONS_HELD = re.compile(r'^obs_consumer_partitions\{group="([^"]+)",topic="([^"]+)"\} (\S+)$', re.MULTILINE)


async def shared_groups(run: Run, service: str) -> str | None:
    """Once every instance of the service holds partitions of each of its topics, and together they
    hold each topic's partitions once: how they split them (from each instance's /metrics)."""
    from shared.topics import all_topics

    partitions = {run.host.isolation["OBS_TOPIC_PREFIX"] + spec.name: spec.partitions for spec in all_topics()}
    held = []
    async with aiohttp.ClientSession() as http:
        for instance in run.instances[service]:
            async with http.get(f"http://127.0.0.1:{instance.env['PORT']}/metrics") as r:
                text = await r.text()
            held.append({(g, t): int(float(n)) for g, t, n in PARTITIONS_HELD.findall(text)})
    subscriptions = set().union(*held)
    if not subscriptions or any(h.get(key, 0) == 0 for h in held for key in subscriptions):
        return None
    if any(sum(h[key] for h in held) != partitions[key[1]] for key in subscriptions):
        return None
    prefix = run.host.isolation["OBS_TOPIC_PREFIX"]
    split = ", ".join(
        f"{t.removeprefix(prefix)} {'+'.join(str(h[(g, t)]) for h in held)}" for g, t in sorted(subscriptions)
    )
    return f"every topic's partitions split among the instances ({split})"


def checked(path: Path, scale: dict[str, int]) -> Compose:
    """The compose file, refused (before anything starts) if it asks what the code or the image lacks."""
    text = path.read_text()
    compose = read(text, local_secrets(text))
    services = services_of(compose)
    dockerfile = (path.parent / "Dockerfile").read_text()
    found = problems(services, dockerfile)
    found += [f"--scale {name}: only {', '.join(CONSUMERS)} run as several instances"
              for name in scale if name not in CONSUMERS]  # fmt: skip
    if found:
        raise Refused("\n".join(found))
    order = start_order(services)  # a cycle or a missing dependency is refused too
    return Compose(services, dockerfile, network_subnets(compose), order)


async def prove(compose: Compose, scale: dict[str, int], offset: int, keep: bool) -> list[str]:
    label = uuid.uuid4().hex[:8]
    workdir = ROOT / "var/compose-local" / label
    (workdir / "logs").mkdir(parents=True)
    isolation = {"OBS_DB_NAME": f"compose_{label}", "OBS_TOPIC_PREFIX": f"compose-{label}."}
    host = LocalHost(compose.services, compose.dockerfile, compose.subnets, compose.order, offset, workdir, isolation)
    run = Run(host, scale, workdir / "logs")
    try:
        await run.start()
        await verify(run)
    finally:
        if not keep:
            run.stop()
            await drop(host)
            shutil.rmtree(workdir, ignore_errors=True)
    return [f"order: {' -> '.join(host.order)}", *run.said]


async def drop(host: LocalHost) -> None:
    from shared.bootstrap import delete_topics, drop_database

    settings = Settings(db_name=host.isolation["OBS_DB_NAME"], topic_prefix=host.isolation["OBS_TOPIC_PREFIX"])
    await drop_database(settings)
    await delete_topics(settings)


def local_port(container_port: int, offset: int, index: int) -> int:
    """Where an instance of a service listens locally (the module's docstring: ports)."""
    return container_port + offset + INSTANCE_STEP * index


def ephemeral_ports() -> range:
    """The ports the kernel gives the local end of outgoing connections."""
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return range(int(low), int(high) + 1)


def ports_refused(compose: Compose, scale: dict[str, int], offset: int) -> list[str]:
    """The instances whose local port lies in the ephemeral range: their bind would fail at random."""
    ephemeral = ephemeral_ports()
    return [
        f"--port-offset {offset}: {service.name}-{index + 1} would listen on {port}, in the ephemeral range "
        f"{ephemeral.start}-{ephemeral.stop - 1} (where outgoing connections take their local port)"
        for service in compose.services.values()
        if service.built and service.port is not None
        for index in range(scale.get(service.name, 1))
        if (port := local_port(service.port, offset, index)) in ephemeral
    ]


def _stop_on_sigterm() -> None:
    """A terminated run stops its instances and drops its database as an interrupted one does."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="infra/compose_local.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--compose", type=Path, default=ROOT / "docker-compose.yml")
    parser.add_argument("--scale", action="append", default=[], metavar="SERVICE=N")
    parser.add_argument("--port-offset", type=int, default=PORT_OFFSET, help="local port = compose's port + this")
    parser.add_argument("--keep", action="store_true", help="leave the processes, database and topics")
    args = parser.parse_args(argv)
    scale = {name: int(n) for name, n in (s.split("=", 1) for s in args.scale)}
    try:
        compose = checked(args.compose, scale)
        if refused := ports_refused(compose, scale, args.port_offset):
            print("refused:\n" + "\n".join(refused), file=sys.stderr)
            return 2
        _stop_on_sigterm()
        start_infrastructure()
        said = asyncio.run(prove(compose, scale, args.port_offset, args.keep))
    except Refused as exc:
        print(f"refused: {args.compose} does not match the code:\n{exc}", file=sys.stderr)
        return 2
    except Failed as exc:
        print(f"failed: {exc}", file=sys.stderr)
        return 1
    print("\n".join(f"ok  {line}" for line in said))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
