"""``-m postgres`` / ``-m "not postgres"`` and ``-m browser`` select what their names say."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.support import databases

ROOT = Path(__file__).resolve().parents[1]
ON_POSTGRESQL = re.compile(r"[\[-]postgresql[\]-]")  # the "postgresql" parameter of a parametrised test


def _collected(marker: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", marker, "-p", "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return [line for line in result.stdout.splitlines() if "::" in line]


def test_markers_select_what_their_names_say() -> None:
    postgres = _collected("postgres")
    assert all(ON_POSTGRESQL.search(test) or "postgres" in test for test in postgres), postgres
    assert "tests/storage/test_schema.py::test_postgresql_migrations_match_the_models" in postgres
    assert any(test.startswith("tests/storage/test_repositories.py::") for test in postgres)
    neither = _collected("not postgres and not browser")
    assert not [test for test in neither if ON_POSTGRESQL.search(test) or test.startswith("tests/browser/")]
    browser = _collected("browser")
    assert browser and all(test.startswith("tests/browser/") for test in browser)


def test_a_test_that_opens_postgresql_unmarked_fails_naming_the_marker() -> None:
    with pytest.raises(pytest.fail.Exception, match=r"is not marked: add @pytest.mark.postgres"):  # noqa: SIM117
        with databases.postgres_database_url():
            pass


def test_a_missing_postgresql_names_the_dsn_it_tried(monkeypatch: pytest.MonkeyPatch) -> None:
    marked = SimpleNamespace(get_closest_marker=lambda name: object(), nodeid="x")
    monkeypatch.setattr(databases, "current_test", marked)
    monkeypatch.setattr(
        databases,
        "POSTGRES_ADMIN_DSN",
        "host=127.0.0.1 port=1 dbname=postgres user=postgres password=hunter2",
    )
    with pytest.raises(pytest.fail.Exception) as failed:  # noqa: SIM117
        with databases.postgres_database_url():
            pass
    message = str(failed.value)
    assert "did not answer at 'host=127.0.0.1 port=1 dbname=postgres user=postgres password=***'" in message
    assert "hunter2" not in message and "TEST_POSTGRES_ADMIN_DSN" in message
