"""The api is the one origin browsers and clients see: it forwards the paths other services own
(sources and harvest runs to the harvester, contributions to the contributions service), with the
method, query, body and the headers that matter, and returns their answer as it is."""

import aiohttp
from aiohttp import web

from shared.proxies import client_address, trusted_networks
from shared.settings import Settings

FORWARDED_HEADERS = ("Authorization", "Content-Type", "Accept")
OWNERS = {"/api/v1/sources": "harvester", "/api/v1/harvest/": "harvester", "/api/v1/contributions": "contributions"}
MAX_BODY = 256 * 1024


def owner_of(path: str) -> str | None:
    return next((service for prefix, service in OWNERS.items() if path.startswith(prefix)), None)


async def forward(request: web.Request, settings: Settings, session: aiohttp.ClientSession) -> web.Response:
    service = owner_of(request.path)
    assert service is not None
    body = await request.read() if request.can_read_body else None
    if body is not None and len(body) > MAX_BODY:
        return web.json_response({"error": {"status": 413, "message": "corps de requête trop volumineux"}}, status=413)
    headers = {h: request.headers[h] for h in FORWARDED_HEADERS if h in request.headers}
    # The client as the api knows it (its address, or what a trusted reverse proxy says), never what
    # the client claimed: the contributions service limits proposals by it.
    headers["X-Forwarded-For"] = client_address(
        request.remote, request.headers.get("X-Forwarded-For", ""), trusted_networks(settings.api_trusted_proxies)
    )
    url = f"{settings.url_of(service)}{request.rel_url}"
    try:
        async with session.request(
            request.method, url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=30)
        ) as upstream:
            payload = await upstream.read()
            return web.Response(
                status=upstream.status, body=payload, content_type=upstream.content_type or "application/json"
            )
    except (aiohttp.ClientError, TimeoutError):
        return web.json_response(
            {"error": {"status": 502, "message": f"le service {service} ne répond pas"}}, status=502
        )
