"""Wiring of the public API: reads the registry and the indicators (read-only role); its routes
(routes.py), their parameters (params.py) and answers (answers.py)."""

from typing import Any

from aiohttp import web

from services.api import geodata
from services.api.params import BadRequest, NotFound, refuse_unstorable
from shared.db import create_pool
from shared.http import error
from shared.service import Runtime
from shared.settings import Settings

SERVICE = "api"


def create_runtime(settings: Settings) -> Runtime:
    # Read-only queries, nothing SET: a connection needs no reset between requests. Each list query is
    # planned for its values: a plan made once for any value of a filter walked the datasets' titles
    # for a rare format and licence (35 ms where their own plan takes 8: bench/README.md).
    runtime = Runtime(
        settings, SERVICE, stateless_sessions=True, pool_size=settings.api_db_pool_max_size,
        session_settings={"plan_cache_mode": "force_custom_plan"},
    )  # fmt: skip

    async def close_http(rt: Runtime) -> None:
        if session := rt.background.get("http"):
            await session.close()

    async def load_geodata(rt: Runtime) -> None:
        geodata.preload(rt.settings.geodata_dir)

    async def open_export_pool(rt: Runtime) -> None:
        timeout = str(int(rt.settings.export_timeout_seconds * 1000))
        rt.background["exports"] = await create_pool(
            rt.settings, SERVICE, max_size=rt.settings.export_connections, stateless_sessions=True,
            server_settings={"statement_timeout": timeout, "idle_in_transaction_session_timeout": timeout},
        )  # fmt: skip

    async def close_export_pool(rt: Runtime) -> None:
        if pool := rt.background.get("exports"):
            await pool.close()

    runtime.on_start += [load_geodata, open_export_pool]
    runtime.on_stop += [close_http, close_export_pool]
    return runtime


@web.middleware
async def json_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        refuse_unstorable(request)
        return await handler(request)  # type: ignore[no-any-return]
    except BadRequest as exc:
        return error(400, str(exc))
    except NotFound as exc:
        return error(404, str(exc))
    except geodata.GeodataMissing as exc:
        return error(503, str(exc))
    except web.HTTPNotFound:
        return error(404, f"aucune ressource à l'adresse {request.path}")
    except web.HTTPMethodNotAllowed as exc:
        return error(405, f"méthode {exc.method} non permise")
