"""Connections to the test database under a service's role (or the admin's), as the services log in."""

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from shared.settings import Settings


async def connect_as(settings: Settings, service: str | None = None) -> asyncpg.Connection:
    """`service` None connects as the admin role, which may read every schema."""
    user = settings.db_user_of(service) if service else settings.db_admin_user
    password = settings.db_password_of(service) if service else settings.db_admin_password
    return await asyncpg.connect(
        host=settings.db_host, port=settings.db_port, database=settings.db_name, user=user, password=password
    )


@contextlib.asynccontextmanager
async def scratch_schema(settings: Settings, schema: str, **pool_options: Any) -> AsyncIterator[asyncpg.Pool]:
    """An admin pool on a schema of the test's own, created empty and dropped afterwards."""
    s = settings
    pool = await asyncpg.create_pool(
        host=s.db_host, port=s.db_port, database=s.db_name, user=s.db_admin_user, password=s.db_admin_password,
        **pool_options,
    )  # fmt: skip
    await pool.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    try:
        yield pool
    finally:
        await pool.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await pool.close()
