"""The packaged migrations build exactly the ORM's schema, and can be undone."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from paycombat_gateway.storage.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    migrate,
    readiness_problem,
)
from paycombat_gateway.storage.models import Base
from tests.support.databases import postgres_database_url


def _check(url: str) -> None:
    migrate(url)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diffs == []
        assert current_revision(engine) == head_revision()
        assert readiness_problem(engine) is None
        command.downgrade(alembic_config(url), "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        assert readiness_problem(engine) is not None
    finally:
        engine.dispose()


def test_sqlite_migrations_match_the_models(tmp_path: Path) -> None:
    _check(f"sqlite:///{tmp_path / 'schema.sqlite3'}")


@pytest.mark.postgres
def test_postgresql_migrations_match_the_models() -> None:
    with postgres_database_url() as url:
        _check(url)


def test_unreachable_database_is_not_ready() -> None:
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    problem = readiness_problem(engine)
    assert problem is not None and "unreachable" in problem


@pytest.mark.parametrize("name", ["installations", "paycombat_deliveries", "outbox_reports"])
def test_tables_exist_after_migrate(tmp_path: Path, name: str) -> None:
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    migrate(url)
    assert name in inspect(create_engine(url)).get_table_names()


def test_migrate_creates_the_sqlite_folder_on_a_fresh_machine(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh' / 'nested' / 'app.sqlite3'}"
    migrate(url)
    assert (tmp_path / "fresh" / "nested" / "app.sqlite3").exists()
