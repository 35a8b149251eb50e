"""The failures a portal reproduces: rate limits with Retry-After, 5xx, HTML error pages, truncated
bodies, slow answers. Applied before the family's handler, counted per portal."""

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from simulated_portals.catalogue import PortalSpec, World

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def portal_of(request: web.Request, world: World) -> PortalSpec:
    portal = world.portal(request.match_info["family"], request.match_info["slug"])
    if portal is None:
        raise web.HTTPNotFound(text="portail inconnu")
    return portal


def every(n: int, count: int) -> bool:
    return bool(n) and count % n == 0


def with_quirks(world: World, handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        portal = portal_of(request, world)
        quirks = portal.quirks
        count = world.count(portal)
        if quirks.slow_seconds:
            await asyncio.sleep(quirks.slow_seconds)
        if every(quirks.rate_limit_every, count):
            return web.json_response(
                {
                    "errorcode": 10002,
                    "error": "Too many requests on the domain. Please contact the domain administrator.",
                    "limit_time_unit": "minute",
                    "call_limit": 100,
                },
                status=429,
                headers={"Retry-After": str(quirks.retry_after)},
            )
        if every(quirks.error_5xx_every, count):
            return web.json_response({"message": "Service temporarily unavailable"}, status=503)
        if every(quirks.html_error_every, count):
            return web.Response(
                status=500,
                content_type="text/html",
                text="<html><head><title>500 Internal Server Error</title></head>"
                "<body><h1>Erreur interne du serveur</h1></body></html>",
            )
        response = await handler(request)
        if every(quirks.truncated_every, count) and isinstance(response, web.Response) and response.body:
            return await _truncated(request, bytes(response.body))  # type: ignore[arg-type]
        return response

    return wrapped


async def _truncated(request: web.Request, body: bytes) -> web.StreamResponse:
    """Announce the whole body, send half of it, then drop the connection (as a failing proxy does)."""
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    response.content_length = len(body)
    await response.prepare(request)
    await response.write(body[: len(body) // 2])
    if request.transport is not None:
        request.transport.close()
    return response
