"""``/readyz`` must not say "ready" while every write fails (a full disk, a read-only database)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from paycombat_gateway.storage import migrate as migrate_module
from paycombat_gateway.storage.migrate import migrate, readiness_problem
from tests.support.databases import POSTGRES_ADMIN_DSN, postgres_database_url


@pytest.fixture(params=["sqlite", "postgresql"])
def read_only_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A migrated database: a URL that writes, and one on which reads answer and every write fails."""
    if request.param == "sqlite":
        path = tmp_path / "ready.sqlite3"
        url = f"sqlite:///{path}"
        migrate(url)
        yield url, f"sqlite:///file:{path}?mode=ro&uri=true"
        return
    with postgres_database_url() as url:
        migrate(url)
        name = make_url(url).database
        with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        yield url, url  # new sessions of that database start read-only


def test_a_database_that_reads_but_cannot_write_is_not_ready(read_only_url: tuple[str, str]) -> None:
    _, read_only = read_only_url
    engine = create_engine(read_only)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql(
                "SELECT version_num FROM alembic_version"
            ).scalar()  # reads answer
        problem = readiness_problem(engine)
        assert problem is not None and "refuses writes" in problem
    finally:
        engine.dispose()


def test_a_full_disk_under_sqlite_is_not_ready(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'full.sqlite3'}"
    migrate(url)
    engine = create_engine(url)
    try:
        assert readiness_problem(engine) is None
        # Requiring more room than any disk has is what a full disk looks like to the check (the real
        # free space is read; other processes change it, so no figure near it would be stable).
        monkeypatch.setattr(migrate_module, "MIN_FREE_BYTES", 1 << 62)
        problem = readiness_problem(engine)
        assert problem is not None and "full" in problem
    finally:
        engine.dispose()
