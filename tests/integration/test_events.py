"""What other systems and operators rely on: the compacted topics rebuild what the API serves (with
the documented Python example and kcat), the AsyncAPI document is served, the operators' status
counts dead letters and lag, and Prometheus accepts the configuration and the alert rules."""

import asyncio
import json
import sys
from typing import Any

import pytest
import yaml

from shared.settings import Settings
from tests.support.kafka import produce, wait_for
from tests.support.processes import ROOT, run_module

pytestmark = pytest.mark.integration
PROMTOOL = ROOT / "var/tools/promtool"  # installed by `make setup` (infra/install-ops-tools.sh)


async def output_of(*command: str) -> str:
    process = await asyncio.create_subprocess_exec(
        *command, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=300)
    assert process.returncode == 0, output.decode(errors="replace")[-3000:]
    return output.decode()


async def api_json(http, url: str, **params: Any) -> Any:
    async with http.get(url, params=params) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def test_the_compacted_topics_rebuild_what_the_api_serves(referentiel, services, settings: Settings, http):
    api = services["api"].url

    async def rebuilt_equals_api() -> dict[str, Any] | None:
        rebuilt = json.loads(await output_of(
            sys.executable, "docs/examples/rebuild_from_topics.py",
            "--bootstrap", settings.kafka_bootstrap_servers, "--prefix", settings.topic_prefix,
        ))  # fmt: skip
        total = (await api_json(http, f"{api}/api/v1/organizations", page_size=1))["total"]
        national = (await api_json(http, f"{api}/api/v1/indicators", scope="national"))["data"][0]["values"]
        same = rebuilt["organizations"] == total and rebuilt["national"] == national
        return rebuilt if same and national["organizations"] == total else None

    rebuilt = await wait_for(rebuilt_equals_api, timeout=300, interval=2)
    assert rebuilt["organizations"] > 34_000  # the whole référentiel, rebuilt from the topic alone

    topic = settings.topic("registry.organizations")
    keys = await output_of("bash", "-c", f"kcat -C -b {settings.kafka_bootstrap_servers} -t {topic} -o beginning"
                                         " -e -q -f '%k\\n' | sort -u | wc -l")  # fmt: skip
    assert int(keys) == rebuilt["organization_keys"]  # docs/events.md's kcat count


async def test_the_asyncapi_document_is_served(services, http):
    async with http.get(f"{services['api'].url}/api/asyncapi.yaml") as response:
        assert response.status == 200 and response.content_type == "application/yaml"
        served = await response.text()
    assert served == (ROOT / "docs/asyncapi.yaml").read_text()
    assert "registry.organizations" in served and "IndicatorsUpdated" in served


async def test_operators_see_dead_letters_and_lag(services, settings: Settings, http):
    api = services["api"].url
    dlq = settings.topic("harvest.commands.dlq")

    async def dead_letters() -> int:
        status = await api_json(http, f"{api}/api/v1/operations/status")
        return int(next(d["messages"] for d in status["dead_letters"] if d["topic"] == dlq))

    before = await dead_letters()
    await produce(settings, "harvest.commands", b"{not an event", key=b"poison")
    assert await wait_for(lambda: _more(dead_letters, before), timeout=60)
    status = await api_json(http, f"{api}/api/v1/operations/status")
    lags = {(g["group"], g["topic"]): g["lag"] for g in status["lag"]}
    # The harvester consumed the poison message (to the dead letters) and committed past it.
    assert lags[(settings.group("harvester", "harvest.commands"), settings.topic("harvest.commands"))] == 0
    assert all(lag >= 0 for lag in lags.values())
    printed = await run_module(settings, "services.api", "status")
    assert "Lettres mortes" in printed and dlq in printed and "Retard des consommateurs" in printed


async def _more(count: Any, before: int) -> bool:
    return bool(await count() > before)


async def test_prometheus_accepts_the_configuration_and_the_alerts():
    config = await output_of(str(PROMTOOL), "check", "config", "infra/prometheus/prometheus.yml")
    assert "SUCCESS" in config and "1 rule files found" in config
    rules = await output_of(str(PROMTOOL), "check", "rules", "infra/prometheus/alerts.yml")
    alerts = yaml.safe_load((ROOT / "infra/prometheus/alerts.yml").read_text())
    assert f"SUCCESS: {sum(len(group['rules']) for group in alerts['groups'])} rules found" in rules
