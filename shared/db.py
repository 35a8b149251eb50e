"""PostgreSQL adapter: the connection pool and the migrations runner.

Each service owns one schema and logs in with its own role; its migrations are plain SQL files in
`services/<name>/migrations/NNN_description.sql`, applied in order at start, each in a transaction,
and recorded in `<schema>.schema_migrations`. An advisory lock makes concurrent starts safe.
"""

import logging
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg

from shared.settings import Settings

log = logging.getLogger(__name__)


async def rollback_only(conn: asyncpg.Connection) -> None:
    """What a connection of a pool whose sessions keep no state (no SET, LISTEN, session advisory lock
    or cursor outside a transaction) needs before its next use: a transaction left open rolled back.
    asyncpg's default reset sends four statements on every release, a round trip that cost the api a
    tenth of its time and PostgreSQL as much again (bench/README.md)."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def create_pool(
    settings: Settings,
    service: str,
    *,
    max_size: int | None = None,
    server_settings: dict[str, str] | None = None,
    stateless_sessions: bool = False,
) -> asyncpg.Pool:
    """`stateless_sessions`: the pool's users keep no session state (see rollback_only)."""
    pool = await asyncpg.create_pool(
        host=settings.db_host,
        port=settings.db_port,
        database=settings.db_name,
        user=settings.db_user_of(service),
        password=settings.db_password_of(service),
        min_size=1,
        max_size=max_size or settings.db_pool_max_size,
        command_timeout=60,
        ssl=tls_mode(settings.db_host),
        server_settings=server_settings,
        reset=rollback_only if stateless_sessions else None,
    )
    assert pool is not None
    return pool


def columns(rows: Sequence[Any], *names: str) -> list[list[Any]]:
    """The named attributes of `rows` as one list each: the arrays an `unnest($1::text[], ...)` takes,
    in the order named."""
    return [[getattr(row, name) for row in rows] for name in names]


def affected_rows(status: str) -> int:
    """The row count of a command's status, as asyncpg returns it: `INSERT 0 3`, `DELETE 3`."""
    return int(status.split()[-1])


def tls_mode(host: str) -> str | bool:
    """No TLS on the loopback interface (it only costs CPU there); elsewhere TLS when the server offers it."""
    return False if host in ("localhost", "127.0.0.1", "::1") or host.startswith("/") else "prefer"


def migration_files(directory: Path) -> list[Path]:
    files = sorted(directory.glob("*.sql")) if directory.is_dir() else []
    versions = [_version(f) for f in files]
    if len(set(versions)) != len(versions):
        raise ValueError(f"duplicate migration numbers in {directory}")
    return files


def _version(path: Path) -> int:
    return int(path.name.split("_", 1)[0])


SHARED_MIGRATIONS = Path(__file__).parent / "migrations"  # inbox and outbox: 000, then from 900 on


def service_migrations(directory: Path, shared_directory: Path = SHARED_MIGRATIONS) -> list[Path]:
    """The shared migrations, then the service's: in that order, their numbers never the same."""
    shared, own = migration_files(shared_directory), migration_files(directory)
    if clash := {_version(p) for p in shared} & {_version(p) for p in own}:
        raise ValueError(f"migrations of {directory} reuse the shared numbers {sorted(clash)}")
    return shared + own


async def apply_migrations(pool: asyncpg.Pool, schema: str, directory: Path) -> list[str]:
    """Apply the shared migrations (inbox, outbox: 000 and from 900 on) then those of `directory` not yet
    recorded in `schema`; return the names applied."""
    applied: list[str] = []
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", zlib.crc32(f"migrate:{schema}".encode()))
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {schema}.schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch(f"SELECT version FROM {schema}.schema_migrations")}
        for path in service_migrations(directory):
            version = _version(path)
            if version in done:
                continue
            await conn.execute(f"SET LOCAL search_path TO {schema}")
            await conn.execute(path.read_text())
            await conn.execute(
                f"INSERT INTO {schema}.schema_migrations (version, name) VALUES ($1, $2)", version, path.name
            )
            applied.append(path.name)
    if applied:
        log.info("migrations applied", extra={"schema": schema, "migrations": applied})
    return applied


async def database_answers(pool: asyncpg.Pool) -> bool:
    """Whether PostgreSQL runs a trivial statement within two seconds now."""
    try:
        async with pool.acquire(timeout=2) as conn:
            await conn.fetchval("SELECT 1", timeout=2)
        return True
    except Exception:
        return False
