"""Connections to the test database under a service's role (or the admin's), as the services log in."""

import asyncpg

from shared.settings import Settings


async def connect_as(settings: Settings, service: str | None = None) -> asyncpg.Connection:
    """`service` None connects as the admin role, which may read every schema."""
    user = settings.db_user_of(service) if service else settings.db_admin_user
    password = settings.db_password_of(service) if service else settings.db_admin_password
    return await asyncpg.connect(
        host=settings.db_host, port=settings.db_port, database=settings.db_name, user=user, password=password
    )
