"""Operators' dashboards and alerts use only metrics the services export."""

import json
import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

import services.api.app
import services.consolidator.app
import services.contributions.app
import services.harvester.app
import services.indicators.app  # noqa: F401  (each service's app registers its metrics on import)

INFRA = Path(__file__).parents[2] / "infra"
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created"),
            "gauge": ("",), "summary": ("_sum", "_count", "_created")}  # fmt: skip


def exported() -> set[str]:
    names = set()
    for family in REGISTRY.collect():
        base = family.name.removesuffix("_total") if family.type == "counter" else family.name
        names |= {base + suffix for suffix in SUFFIXES.get(family.type, ("",))}
    return names


def expressions() -> dict[str, str]:
    """Every PromQL expression of the alert rules and the dashboards, by where it is."""
    found = {}
    for group in yaml.safe_load((INFRA / "prometheus/alerts.yml").read_text())["groups"]:
        for rule in group["rules"]:
            found[f"alert {rule['alert']}"] = rule["expr"]
    for path in sorted((INFRA / "grafana/dashboards").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                found[f"{path.name}: {panel['title']} ({target['refId']})"] = target["expr"]
    return found


def test_every_metric_of_the_dashboards_and_alerts_is_exported():
    found = expressions()
    assert len(found) > 20 and {p.name for p in (INFRA / "grafana/dashboards").glob("*.json")} == {
        "pipeline.json", "harvest.json", "api.json"}  # fmt: skip
    names = exported()
    missing = {where: metric for where, expr in found.items()
               for metric in re.findall(r"\b(obs_[a-z0-9_]+)", expr) if metric not in names}  # fmt: skip
    assert missing == {}


def test_the_issue_s_metrics_are_exported_with_bounded_labels():
    names = exported()
    for metric in ("obs_harvest_runs_total", "obs_harvest_items_total", "obs_harvest_errors_total",
                   "obs_http_request_duration_seconds_bucket", "obs_events_consumed_total",
                   "obs_events_produced_total", "obs_events_retried_total", "obs_events_dead_lettered_total",
                   "obs_consumer_lag", "obs_outbox_backlog", "obs_db_pool_connections",
                   "obs_indicators_latency_seconds_bucket"):  # fmt: skip
        assert metric in names, metric
    unbounded = {"id", "organization_id", "dataset_id", "remote_id", "url", "path", "event_id", "run_id"}
    declared = {name: set(getattr(collector, "_labelnames", ()))
                for collector, names in REGISTRY._collector_to_names.items() for name in names}  # fmt: skip
    for name, labels in declared.items():
        if name.startswith("obs_"):
            assert not labels & unbounded, (name, labels)
    assert declared["obs_consumer_lag"] == {"group", "topic"}
    assert declared["obs_harvest_runs_total"] == {"source", "family", "status"}


def test_every_dashboard_reads_the_provisioned_prometheus():
    datasource = yaml.safe_load((INFRA / "grafana/provisioning/datasources/prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    dashboards = [json.loads(path.read_text()) for path in (INFRA / "grafana/dashboards").glob("*.json")]
    for dashboard in dashboards:
        assert {p["datasource"]["uid"] for p in dashboard["panels"]} == {uid}, dashboard["title"]
    assert len({d["uid"] for d in dashboards}) == len(dashboards)  # Grafana keeps one dashboard per uid


def test_prometheus_scrapes_every_service_of_the_compose_file_and_every_consolidator_instance():
    compose = yaml.safe_load((INFRA.parent / "docker-compose.yml").read_text())
    ports = {name: int(s["environment"]["PORT"]) for name, s in compose["services"].items()
             if "PORT" in s.get("environment", {})}  # fmt: skip
    [job] = yaml.safe_load((INFRA / "prometheus/prometheus.yml").read_text())["scrape_configs"]
    scraped = {tuple(target.split(":")) for static in job.get("static_configs", []) for target in static["targets"]}
    scraped |= {(name, str(dns["port"])) for dns in job.get("dns_sd_configs", []) for name in dns["names"]}
    assert scraped == {(name, str(port)) for name, port in ports.items()}
    # Several consolidators in one group (`--scale consolidator=2`): no fixed host port, found by DNS.
    assert "ports" not in compose["services"]["consolidator"]
    assert any("consolidator" in dns["names"] for dns in job["dns_sd_configs"])


def test_the_compose_postgres_runs_with_the_settings_a_local_cluster_reads():
    conf = (INFRA / "postgres/observatoire.conf").read_text().splitlines()
    settings = dict(line.replace(" ", "").split("=", 1) for line in conf if line.strip() and not line.startswith("#"))
    command = yaml.safe_load((INFRA.parent / "docker-compose.yml").read_text())["services"]["postgres"]["command"]
    flags = dict(value.split("=", 1) for flag, value in zip(command[1::2], command[2::2], strict=True) if flag == "-c")
    assert command[0] == "postgres" and len(command) == 1 + 2 * len(flags)
    assert flags == settings and "max_wal_size" in settings
