"""What the contributions tests share: finding an organisation by its name, and waiting until the
contributions service knows it (it learns organisations from registry.organizations)."""

from typing import Any

import aiohttp

from shared.settings import Settings
from tests.support.db import connect_as
from tests.support.kafka import wait_for


async def organisation(http: aiohttp.ClientSession, api: str, name: str, kind: str = "COM") -> dict[str, Any]:
    async with http.get(f"{api}/api/v1/organizations", params={"q": name, "type": kind}) as response:
        return next(o for o in (await response.json())["data"] if o["name"] == name)


async def known_to_contributions(settings: Settings, organization_id: str) -> None:
    conn = await connect_as(settings, "contributions")
    try:
        query = "SELECT 1 FROM contributions.known_organizations WHERE id = $1"
        await wait_for(lambda: conn.fetchval(query, organization_id), timeout=300, interval=0.5)
    finally:
        await conn.close()
