"""Harvests asked as an operator would: sources added and runs asked through the harvester's API,
the run followed until it ends, its events read back from harvest.datasets."""

import json

from shared.settings import Settings
from tests.support.kafka import read_all, wait_for

FINAL = {"done", "done-errors", "partial", "failed"}


async def add_source(http, harvester: str, operator, source_id: str, url: str, family: str) -> None:
    body = {"id": source_id, "url": url, "family": family, "name": f"Test {source_id}", "schedule": "@manual"}
    async with http.post(f"{harvester}/api/v1/sources", json=body, headers=operator) as response:
        assert response.status == 201, await response.text()


async def run(http, harvester: str, operator, source_id: str, mode: str = "full", timeout: float = 120):
    async with http.post(
        f"{harvester}/api/v1/harvest/runs", json={"source_id": source_id, "mode": mode}, headers=operator
    ) as response:
        assert response.status == 202, await response.text()
        run_id = (await response.json())["run_id"]

    async def finished():
        async with http.get(f"{harvester}/api/v1/harvest/runs/{run_id}", headers=operator) as response:
            if response.status != 200:
                return None
            body = await response.json()
            return body if body["status"] in FINAL else None

    return await wait_for(finished, timeout=timeout, interval=0.3)


async def events_of(settings: Settings, run_ids: set[str]) -> dict[str, list[dict]]:
    by_run: dict[str, list[dict]] = {run_id: [] for run_id in run_ids}
    for record in await read_all(settings, "harvest.datasets", idle_ms=800):
        event = json.loads(record.value)
        if event.get("run_id") in by_run:
            by_run[event["run_id"]].append(event)
    return by_run
