"""Schemathesis over the OpenAPI document the api serves: every documented operation, with valid and
invalid inputs generated from the document, answers without a server error."""

import asyncio

import pytest

from tests.support.processes import ROOT

pytestmark = pytest.mark.integration


async def test_no_documented_request_gets_a_server_error(referentiel, services, tmp_path):
    api = services["api"].url
    process = await asyncio.create_subprocess_exec(
        str(ROOT / ".venv/bin/schemathesis"), "run", f"{api}/api/openapi.json", "--url", api,
        "--checks", "not_a_server_error", "--max-examples", "25", "--seed", "2026", "--workers", "2",
        "--phases", "examples,coverage,fuzzing", "--no-color",
        "--report", "junit", "--report-dir", str(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), timeout=600)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-6000:]
