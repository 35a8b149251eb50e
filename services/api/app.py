"""Wiring of the public API: reads the registry and the indicators (read-only role)."""

from aiohttp import web

from services.api import repository
from shared.service import Runtime
from shared.settings import Settings

SERVICE = "api"


def create_runtime(settings: Settings) -> Runtime:
    return Runtime(settings, SERVICE)


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": {"status": status, "message": message}}, status=status)


def create_routes() -> web.RouteTableDef:
    routes = web.RouteTableDef()

    @routes.get("/api/v1/organizations/{id}")
    async def organization(request: web.Request) -> web.Response:
        runtime: Runtime = request.app["runtime"]
        async with runtime.pool.acquire() as conn:
            card = await repository.organization_card(conn, request.match_info["id"])
        if card is None:
            return error(404, f"aucune organisation avec l'identifiant {request.match_info['id']!r}")
        return web.json_response(card)

    return routes
