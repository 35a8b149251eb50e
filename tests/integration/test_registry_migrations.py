"""Migrations of the registry that move data, applied to a registry written by the migrations before
them (in a scratch schema of the test database)."""

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from services.consolidator.app import MIGRATIONS
from shared.db import apply_migrations
from shared.settings import Settings

pytestmark = pytest.mark.integration

SCHEMA = "registry_migrated"


@pytest.fixture
async def admin_pool(infrastructure: Settings) -> AsyncIterator[asyncpg.Pool]:
    s = infrastructure
    pool = await asyncpg.create_pool(
        host=s.db_host, port=s.db_port, database=s.db_name, user=s.db_admin_user, password=s.db_admin_password
    )
    await pool.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}")
    try:
        yield pool
    finally:
        await pool.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        await pool.close()


def migrations_before(number: int, directory: Path) -> Path:
    """`directory`, holding the registry's migrations numbered below `number`."""
    directory.mkdir()
    for path in MIGRATIONS.glob("*.sql"):
        if int(path.name.split("_", 1)[0]) < number:
            shutil.copy(path, directory)
    return directory


async def test_the_past_states_migration_keeps_every_state_and_makes_the_newest_current(
    admin_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await apply_migrations(admin_pool, SCHEMA, migrations_before(6, tmp_path / "before"))
    async with admin_pool.acquire() as conn:
        await conn.execute(f"SET search_path TO {SCHEMA}")
        await conn.execute(
            """INSERT INTO datasets (id, title, state) VALUES ('a', 'A', '{"v": 2}'), ('b', 'B', '{"v": 1}');
               INSERT INTO dataset_history (dataset_id, change, state, cause) VALUES
                   ('a', 'created', '{"v": 1}', 'run-1'), ('b', 'created', '{"v": 1}', 'run-1'),
                   ('a', 'updated', '{"v": 2}', 'run-2');"""
        )

    migrated = await apply_migrations(admin_pool, SCHEMA, migrations_before(7, tmp_path / "with"))
    assert migrated == ["006_superseded_history.sql"]
    async with admin_pool.acquire() as conn:
        await conn.execute(f"SET search_path TO {SCHEMA}")
        past = await conn.fetch("SELECT dataset_id, change, state::text, cause FROM dataset_past_states")
        current = await conn.fetch("SELECT id, change, cause FROM datasets ORDER BY id")
        history = await conn.fetch(
            "SELECT dataset_id, change, state::text, cause FROM dataset_history ORDER BY dataset_id, id"
        )
    assert [tuple(r) for r in past] == [("a", "created", '{"v": 1}', "run-1")]
    assert [tuple(r) for r in current] == [("a", "updated", "run-2"), ("b", "created", "run-1")]
    assert [tuple(r) for r in history] == [
        ("a", "created", '{"v": 1}', "run-1"),
        ("a", "updated", '{"v": 2}', "run-2"),
        ("b", "created", '{"v": 1}', "run-1"),
    ]


async def test_identity_keys_stored_as_text_still_find_their_dataset_once_hashed(
    admin_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await apply_migrations(admin_pool, SCHEMA, migrations_before(7, tmp_path / "before"))
    async with admin_pool.acquire() as conn:
        await conn.execute(f"SET search_path TO {SCHEMA}")
        await conn.execute(
            """INSERT INTO dataset_keys (key, dataset_id) VALUES
                   ('id:example.fr|1', 'd1'), ('uri:example.fr/datasets/1', 'd1'), ('id:other.fr|7', 'd2')"""
        )

    assert await apply_migrations(admin_pool, SCHEMA, MIGRATIONS) == ["007_hashed_keys.sql"]
    async with admin_pool.acquire() as conn:
        await conn.execute(f"SET search_path TO {SCHEMA}")
        found = await conn.fetch(
            """SELECT k.key, d.dataset_id FROM unnest($1::text[]) AS k (key)
               JOIN dataset_keys d ON d.key_hash = md5(k.key)::uuid ORDER BY 1""",
            ["id:example.fr|1", "id:other.fr|7", "uri:example.fr/datasets/1", "id:unknown.fr|1"],
        )
        claimed_again = await conn.execute(
            "INSERT INTO dataset_keys (key_hash, dataset_id) VALUES (md5('id:other.fr|7')::uuid, 'd3') ON CONFLICT DO NOTHING"
        )
    assert [tuple(r) for r in found] == [
        ("id:example.fr|1", "d1"),
        ("id:other.fr|7", "d2"),
        ("uri:example.fr/datasets/1", "d1"),
    ]
    assert claimed_again == "INSERT 0 0"  # a key still belongs to the first dataset that claimed it
