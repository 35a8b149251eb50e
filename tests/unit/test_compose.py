"""docker-compose.yml proven by reading it (no Docker engine runs here): every service reaches the
others by their compose names and ports, only the api is published, no secret has a default."""

import ipaddress
import re
from pathlib import Path

import pytest
import yaml

from services.api.forwarding import OWNERS
from shared.settings import SERVICES, Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
DEFAULTS = Settings(_env_file=None)  # the code's defaults, not this machine's environment
REQUIRED = re.compile(r"^\$\{(?P<name>[A-Z0-9_]+):\?[^}]+\}$")
DEFAULTED = re.compile(r"\$\{(?P<name>[A-Z0-9_]+):-(?P<default>[^}]*)\}")


def environment(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in (COMPOSE["services"][service].get("environment") or {}).items()}


def default_of(value: str) -> str:
    """The value compose uses when the variable is not set."""
    return DEFAULTED.sub(lambda m: m["default"], value)


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_reaches_kafka_postgres_and_listens_where_its_healthcheck_and_prometheus_look(service):
    env = environment(service)
    host, port = env["OBS_KAFKA_BOOTSTRAP_SERVERS"].split(":")
    kafka = COMPOSE["services"][host]["environment"]
    assert f"PLAINTEXT://{host}:{port}" in kafka["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert env["OBS_DB_HOST"] in COMPOSE["services"] and COMPOSE["services"][env["OBS_DB_HOST"]]["image"].startswith(
        "postgres"
    )
    assert env["OBS_HTTP_HOST"] == "0.0.0.0"  # reachable from the other containers
    assert int(env["PORT"]) == DEFAULTS.port_of(service)  # what the healthcheck asks
    assert str(DEFAULTS.port_of(service)) in {str(p) for p in COMPOSE["services"][service].get("expose", [])} | {
        str(p).rsplit(":", 1)[-1] for p in COMPOSE["services"][service].get("ports", [])
    }
    # Its own database password, required; no other service's.
    passwords = {k for k in env if k.startswith("OBS_DB_PASSWORD_")}
    assert passwords == {f"OBS_DB_PASSWORD_{service.upper()}"}
    assert REQUIRED.match(env[f"OBS_DB_PASSWORD_{service.upper()}"])


def test_the_api_forwards_to_the_services_by_their_compose_names():
    env = environment("api")
    for service in set(OWNERS.values()):
        url = env[f"OBS_{service.upper()}_URL"]
        assert url == f"http://{service}:{DEFAULTS.port_of(service)}"
        assert service in COMPOSE["services"]


def test_init_creates_every_role_with_its_required_password():
    env = environment("init")
    for service in SERVICES:
        assert REQUIRED.match(env[f"OBS_DB_PASSWORD_{service.upper()}"])
    assert REQUIRED.match(env["OBS_DB_ADMIN_PASSWORD"])
    assert COMPOSE["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"] == env["OBS_DB_ADMIN_PASSWORD"]


def test_no_secret_has_a_default():
    for name, service in COMPOSE["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if re.search("PASSWORD|SECRET|TOKEN", key):
                assert REQUIRED.match(str(value)), (name, key)
    grafana = environment("grafana")
    assert default_of(grafana["GF_AUTH_ANONYMOUS_ENABLED"]) == "false"


def test_only_the_api_is_published_and_the_dashboards_listen_on_localhost_by_default():
    published = {name: s["ports"] for name, s in COMPOSE["services"].items() if s.get("ports")}
    assert set(published) == {"api", "prometheus", "grafana"}
    for name in ("prometheus", "grafana"):
        [port] = published[name]
        assert default_of(port).startswith("127.0.0.1:"), port


def test_the_contributions_service_trusts_the_compose_network_where_the_api_is():
    subnet = COMPOSE["networks"]["default"]["ipam"]["config"][0]["subnet"]
    trusted = environment("contributions")["OBS_CONTRIBUTIONS_TRUSTED_PROXIES"]
    assert trusted == subnet  # the same variable, the same default
    assert ipaddress.ip_network(default_of(subnet)).is_private
    assert default_of(environment("api")["OBS_API_TRUSTED_PROXIES"]) == ""  # nobody unless configured


def test_the_environment_file_script_writes_every_required_variable():
    required = {
        match["name"]
        for s in COMPOSE["services"].values()
        for v in (s.get("environment") or {}).values()
        if (match := REQUIRED.match(str(v)))
    }
    script = (ROOT / "infra/compose-env.sh").read_text()
    assert required and all(f"{name}=" in script for name in required), required
