"""`python -m services.api` runs the public API; `python -m services.api status` prints what
operators watch (each source's last harvest, consumers' lag, dead letters) and exits."""

import asyncio
import sys

import asyncpg
from aiokafka.errors import KafkaError

from services.api import operations
from services.api.app import create_runtime, json_errors
from services.api.caching import http_caching
from services.api.routes import FORWARDED_PREFIXES, create_routes
from shared.db import create_pool
from shared.service import run
from shared.settings import Settings


async def print_status(settings: Settings) -> None:
    pool = await create_pool(settings, "api", max_size=1)
    try:
        async with pool.acquire() as conn:
            print(operations.as_text(await operations.status(conn, settings, operator=True)))
    finally:
        await pool.close()


if __name__ == "__main__":
    if sys.argv[1:] == ["status"]:
        try:
            asyncio.run(asyncio.wait_for(print_status(Settings()), timeout=30))
        except (OSError, TimeoutError, asyncpg.PostgresError, KafkaError) as exc:
            sys.exit(f"état indisponible : PostgreSQL ou Kafka ne répond pas ({exc!r}); `make up` les démarre")
    else:
        run(create_runtime(Settings()), create_routes(), middlewares=(json_errors, http_caching(FORWARDED_PREFIXES)))
