from pathlib import Path

import pytest

from shared.db import SHARED_MIGRATIONS, service_migrations

SERVICES = Path(__file__).parents[2] / "services"


def test_every_service_applies_the_shared_migrations_first_and_never_reuses_their_numbers() -> None:
    shared = sorted(SHARED_MIGRATIONS.glob("*.sql"))
    for directory in sorted(SERVICES.glob("*/migrations")):
        applied = service_migrations(directory)
        assert applied[: len(shared)] == shared
        assert len(applied) == len(shared) + len(list(directory.glob("*.sql")))


def test_a_service_migration_numbered_as_a_shared_one_is_refused(tmp_path: Path) -> None:
    (tmp_path / "900_mine.sql").write_text("SELECT 1;")
    with pytest.raises(ValueError, match=r"reuse the shared numbers \[900\]"):
        service_migrations(tmp_path)
