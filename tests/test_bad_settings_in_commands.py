"""Every bad setting stops ``serve`` and the other commands with one line naming it (exit 2), never a
traceback; the PostgreSQL URL forms hosting providers hand out just work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from paycombat_gateway.storage.migrate import head_revision
from tests.support.databases import postgres_database_url
from tests.support.serve_process import free_port, serve_process

# (environment, what the one line must say, the other command that must say it too)
CASES = {
    "postgres-unreachable": (
        {"DATABASE_URL": "postgres://app:hunter2secret@127.0.0.1:1/pay"},
        "DATABASE_URL postgresql+psycopg://app:***@127.0.0.1:1/pay cannot be used: Connection refused",
        ["migrate"],
    ),
    "not-a-url": ({"DATABASE_URL": "not-a-url"}, "DATABASE_URL is not a database URL", ["config", "list"]),
    "sqlite-under-a-file": (
        {"DATABASE_URL": "sqlite:///{blocker}/app.sqlite3"},
        "DATABASE_URL: the SQLite file {blocker}/app.sqlite3 cannot be created: {blocker} is a file",
        ["migrate"],
    ),
    "data-dir-under-a-file": ({"DATA_DIR": "{blocker}/data"}, "DATA_DIR:", ["rotate-secrets"]),
    "short-secret-key": (
        {"APP_SECRET_KEY": "short"},
        "APP_SECRET_KEY must be at least 16",
        ["rotate-secrets"],
    ),
    "log-level": ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be one of", ["migrate"]),
    "metrics-listen": ({"METRICS_LISTEN": "everywhere"}, "METRICS_LISTEN must be host:port", ["migrate"]),
    "app-url-without-scheme": ({"APP_URL": "pay.example.com"}, "APP_URL must be", ["manifest"]),
    "retention-days": ({"DATA_RETENTION_DAYS": "-1"}, "DATA_RETENTION_DAYS must be", ["purge", "--expired"]),
    "production-missing-everything": (
        {"APP_ENV": "production"},
        "APP_ENV=production needs APP_URL, APP_SECRET_KEY, ALLOWED_SALEOR_URLS",
        ["config", "list"],
    ),
}


def _env(tmp_path: Path, overrides: dict[str, str]) -> dict[str, str]:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("APP_", "DATABASE_URL", "LOG_", "ALLOWED_SALEOR"))
    }
    env["DATA_DIR"] = str(tmp_path / "data")
    env.update({key: value.format(blocker=blocker) for key, value in overrides.items()})
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "paycombat_gateway", *args], env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("which", ["serve", "other"])
def test_a_bad_setting_is_one_line_naming_it(tmp_path: Path, case: str, which: str) -> None:
    overrides, says, other = CASES[case]
    args = ["serve", "--port", "0"] if which == "serve" else other
    result = _run(args, _env(tmp_path, overrides))
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("paycombat-gateway: "), result.stderr
    assert says.format(blocker=tmp_path / "a-file") in lines[0]
    assert "hunter2secret" not in result.stderr
    assert not (tmp_path / "data" / "paycombat-gateway.sqlite3").exists()


@pytest.mark.postgres
@pytest.mark.parametrize("which", ["serve", "migrate"])
def test_a_missing_postgresql_database_is_one_line(tmp_path: Path, which: str) -> None:
    with postgres_database_url() as url:
        missing = url.rsplit("/", 1)[0] + "/pcg_no_such_database"
    args = ["serve", "--port", "0"] if which == "serve" else ["migrate"]
    result = _run(args, _env(tmp_path, {"DATABASE_URL": missing}))
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert 'database "pcg_no_such_database" does not exist' in line and "DATABASE_URL" in line


@pytest.mark.postgres
def test_postgres_urls_as_providers_write_them_work(tmp_path: Path) -> None:
    with postgres_database_url() as url:
        provider_form = url.replace("postgresql+psycopg://", "postgres://")
        env = _env(tmp_path, {"DATABASE_URL": provider_form})
        migrated = _run(["migrate"], env)
        assert migrated.returncode == 0, migrated.stderr
        assert f"is at migration {head_revision()}" in migrated.stdout
        with serve_process(env, free_port()) as served:
            assert requests.get(f"{served.url}/readyz", timeout=5).json() == {"status": "ready"}
