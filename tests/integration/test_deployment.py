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


def test_the_script_refuses_a_compose_file_the_code_does_not_have_before_starting_anything(tmp_path):
    compose = (ROOT / "docker-compose.yml").read_text()
    misspelt_job = compose.replace('"load-referentiel"', '"load-referential"')
    misspelt_setting = misspelt_job.replace("OBS_EDITIONS_DIR: /data/editions\n      PORT: 8003",
                                            "OBS_EDITION_DIR: /data/editions\n      PORT: 8003")  # fmt: skip
    (tmp_path / "docker-compose.yml").write_text(misspelt_setting)
    (tmp_path / "Dockerfile").write_text((ROOT / "Dockerfile").read_text().replace("COPY infra/sources/", "# "))
    done = subprocess.run(
        [sys.executable, "infra/compose_local.py", "--compose", str(tmp_path / "docker-compose.yml"),
         "--scale", "api=2"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    refused = done.stderr.splitlines()
    assert refused[0].startswith("refused:") and refused[1:] == [
        "referentiel: `services.consolidator load-referential` is refused by the code: python -m services.consolidator:"
        " error: argument command: invalid choice: 'load-referential' (choose from 'load-referentiel',"
        " 'obligated-counts')",
        "indicators: OBS_EDITION_DIR is no setting of the code (shared/settings.py)",
        "the image lacks infra/sources/france.yaml, which the services read at run time",
        "--scale api: only harvester, consolidator, indicators, contributions run as several instances",
    ]
