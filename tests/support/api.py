"""What tests ask the running api for by hand."""

from typing import Any

import aiohttp


async def commune(http: aiohttp.ClientSession, api: str, name: str) -> dict[str, Any]:
    """The commune the organisations' list finds first for `name`, as the list gives it (with `datasets`)."""
    async with http.get(f"{api}/api/v1/organizations", params={"q": name, "type": "COM"}) as response:
        assert response.status == 200, await response.text()
        found: dict[str, Any] = (await response.json())["data"][0]
        return found
