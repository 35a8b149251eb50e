"""Schemathesis over the OpenAPI document the api serves: every documented operation, with valid and
invalid inputs generated from the document, answers without a server error."""

import asyncio
import xml.etree.ElementTree as ET

import pytest
import yaml

from tests.support.processes import ROOT

# One worker: with two, CPython 3.11's ast.parse, called by hypothesis from both threads, once failed
# with "AST constructor recursion depth mismatch" (a crash of the tool, not an answer of the API).
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


async def test_no_documented_request_gets_a_server_error(referentiel, services, tmp_path):
    api = services["api"].url
    process = await asyncio.create_subprocess_exec(
        str(ROOT / ".venv/bin/schemathesis"), "run", f"{api}/api/openapi.json", "--url", api,
        "--checks", "not_a_server_error", "--max-examples", "25", "--seed", "2026", "--workers", "1",
        "--phases", "examples,coverage,fuzzing", "--no-color",
        "--report", "junit", "--report-dir", str(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), timeout=850)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-6000:]
    # Every documented operation was called, the forwarded ones (contributions) included.
    documented = yaml.safe_load((ROOT / "services/api/openapi.yaml").read_text())["paths"]
    tested = {case.get("name") for report in tmp_path.glob("*.xml") for case in ET.parse(report).iter("testcase")}
    missing = [f"{method.upper()} {path}" for path, operations in documented.items() for method in operations
               if f"{method.upper()} {path}" not in tested]  # fmt: skip
    assert missing == [], (missing, sorted(n for n in tested if n)[:20])
