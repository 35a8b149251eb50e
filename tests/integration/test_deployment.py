"""docker-compose.yml's own commands and settings, run as local processes in compose's order
(infra/compose_local.py), make a working Observatoire: the proof that stands in for a Docker engine."""

import subprocess
import sys

import pytest

from tests.support.processes import ROOT

pytestmark = pytest.mark.integration
SCALED = ("harvester", "consolidator", "indicators", "contributions")


@pytest.mark.timeout(900)
def test_the_compose_file_starts_a_populated_observatoire_with_every_consumer_scaled_to_two():
    scale = [argument for service in SCALED for argument in ("--scale", f"{service}=2")]
    done = subprocess.run(
        [sys.executable, "infra/compose_local.py", *scale], cwd=ROOT, capture_output=True, text=True, timeout=880
    )
    assert done.returncode == 0, done.stderr[-4000:]
    said = done.stdout
    assert "order: kafka -> postgres -> init -> referentiel -> sources -> harvester" in said
    assert "job referentiel: python -m services.consolidator load-referentiel -> published" in said
    assert "api -> harvester:" in said and "api -> contributions: a proposal for" in said
    assert "healthchecks: 9 instances pass theirs" in said
    for service in SCALED:
        assert f"--scale {service}=2:" in said
