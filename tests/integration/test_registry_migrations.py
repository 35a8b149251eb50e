"""Migrations of the registry that move data, applied to a registry written by the migrations before
them (in a scratch schema of the test database)."""

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from services.consolidator.app import MIGRATIONS
from services.consolidator.repository import key_digest
from shared.db import apply_migrations
from shared.settings import Settings
from tests.support.db import scratch_schema

pytestmark = pytest.mark.integration

SCHEMA = "registry_migrated"


@pytest.fixture
async def admin_pool(infrastructure: Settings) -> AsyncIterator[asyncpg.Pool]:
    # the tests' SQL names the registry's tables unqualified
    async with scratch_schema(infrastructure, SCHEMA, server_settings={"search_path": SCHEMA}) as pool:
        yield pool


def migrations_before(number: int, directory: Path) -> Path:
    """`directory`, holding the registry's migrations numbered below `number`."""
    directory.mkdir()
    for path in MIGRATIONS.glob("*.sql"):
        if int(path.name.split("_", 1)[0]) < number:
            shutil.copy(path, directory)
    return directory


async def migrated_over(pool: asyncpg.Pool, number: int, directory: Path, sql: str) -> list[str]:
    """Write `sql` into the scratch registry as the migrations numbered below `number` leave it, then
    apply migration `number`; return the migrations that second step applied."""
    await apply_migrations(pool, SCHEMA, migrations_before(number, directory / "before"))
    await pool.execute(sql)
    return await apply_migrations(pool, SCHEMA, migrations_before(number + 1, directory / "with"))


async def test_the_past_states_migration_keeps_every_state_and_makes_the_newest_current(
    admin_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    migrated = await migrated_over(
        admin_pool,
        6,
        tmp_path,
        """INSERT INTO datasets (id, title, state) VALUES ('a', 'A', '{"v": 2}'), ('b', 'B', '{"v": 1}');
           INSERT INTO dataset_history (dataset_id, change, state, cause) VALUES
               ('a', 'created', '{"v": 1}', 'run-1'), ('b', 'created', '{"v": 1}', 'run-1'),
               ('a', 'updated', '{"v": 2}', 'run-2');""",
    )
    assert migrated == ["006_superseded_history.sql"]
    async with admin_pool.acquire() as conn:
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


async def test_the_filter_columns_migration_keeps_the_formats_and_schemas_the_api_filters_on(
    admin_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    migrated = await migrated_over(
        admin_pool,
        7,
        tmp_path,
        """INSERT INTO datasets (id, title, resources) VALUES
               ('a', 'A', '[{"url": "u1", "format": "csv", "schema": {"name": "scdl/budget"}},
                            {"url": "u2", "format": "pdf"}, {"url": "u3", "format": "csv"}, {"url": "u4"}]'),
               ('b', 'B', '[]')""",
    )
    assert migrated == ["007_dataset_filter_columns.sql"]
    async with admin_pool.acquire() as conn:
        rows = await conn.fetch("SELECT id, formats, schemas FROM datasets ORDER BY id")
        columns = {r["column_name"] for r in await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'datasets'",
            SCHEMA)}  # fmt: skip
    assert [tuple(r) for r in rows] == [("a", ["csv", "pdf"], ["scdl/budget"]), ("b", [], [])]
    assert not columns & {"description", "themes", "tags", "resources", "created", "attribution"}


async def test_the_hashed_keys_migration_stores_each_key_as_the_consolidator_now_looks_it_up(
    admin_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    keys = {
        "id:data.example.fr|budget-2024": "d1",
        "url:opendata.collectivité.fr/explore/dataset/équipements": "d1",  # not ASCII: hashed as UTF-8
        "files:" + "0123456789abcdef" * 4: "d2",
        f"url:example.fr/?{'q=x&' * 400}": "d2",  # long: kept in full (identity.bounded leaves 2,000 bytes)
    }
    # 009 to 011 name the `registry` schema (its read views): 012 is applied over those before them,
    # the tables it changes are 004's.
    await apply_migrations(admin_pool, SCHEMA, migrations_before(9, tmp_path / "before"))
    await admin_pool.execute(
        "INSERT INTO dataset_keys (key, dataset_id) SELECT * FROM unnest($$"
        + "{" + ",".join(f'"{k}"' for k in keys) + "}$$::text[], $${"
        + ",".join(keys.values()) + "}$$::text[])"
    )  # fmt: skip
    with_it = migrations_before(9, tmp_path / "with")
    shutil.copy(MIGRATIONS / "012_hashed_keys.sql", with_it)
    migrated = await apply_migrations(admin_pool, SCHEMA, with_it)
    assert migrated == ["012_hashed_keys.sql"]
    async with admin_pool.acquire() as conn:
        stored = {r["key"]: r["dataset_id"] for r in await conn.fetch("SELECT key, dataset_id FROM dataset_keys")}
        indexes = {r["indexname"] for r in await conn.fetch("SELECT indexname FROM pg_indexes WHERE schemaname = $1",
                                                            SCHEMA)}  # fmt: skip
    assert stored == {key_digest(k): d for k, d in keys.items()}
    assert "dataset_sources_by_source" not in indexes and "dataset_keys_pkey" in indexes
