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

PRODUCTION = {
    "APP_ENV": "production",
    "APP_URL": "https://pay.example.com",
    "APP_SECRET_KEY": "a-production-secret-key",
    "ALLOWED_SALEOR_URLS": "https://shop.example.com/graphql/",
}
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
    "boolean-typo-outbox": (
        {"RUN_OUTBOX_WORKER": "ture"},
        "RUN_OUTBOX_WORKER must be true or false (also 1/0, yes/no, on/off), not 'ture'",
        ["config", "list"],
    ),
    "boolean-typo-reconcile": ({"RECONCILE": "ture"}, "RECONCILE must be true or false", ["migrate"]),
    "sqlite-folder-missing": (
        {"DATABASE_URL": "sqlite:///{tmp}/nonexist/dir/x.db"},
        "DATABASE_URL: the folder {tmp}/nonexist/dir of the SQLite file does not exist",
        ["config", "list"],
    ),
    "production-http-app-url": (
        {**PRODUCTION, "APP_URL": "http://pay.example.com"},
        "APP_URL must be https in production",
        ["migrate"],
    ),
    "production-read-timeout-beyond-saleor": (
        {**PRODUCTION, "PAYCOMBAT_READ_TIMEOUT": "30"},
        "PAYCOMBAT_READ_TIMEOUT must be at most 18 s in production",
        ["config", "list"],
    ),
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
    env.update({key: value.format(blocker=blocker, tmp=tmp_path) for key, value in overrides.items()})
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
    assert says.format(blocker=tmp_path / "a-file", tmp=tmp_path) in lines[0]
    assert "hunter2secret" not in result.stderr
    assert not (tmp_path / "data" / "paycombat-gateway.sqlite3").exists()
    assert not (tmp_path / "nonexist").exists(), "a missing folder is named, never made"


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


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["manifest", "-o", "/no/such/dir/m.json"],
            "--output /no/such/dir/m.json: the folder /no/such/dir does not exist",
        ),
        (
            ["manifest", "--app-url", "pay.example.com"],
            "--app-url must be the app's public base URL with its scheme",
        ),
        (["manifest", "--app-url", "ftp://x"], "--app-url must be the app's public base URL with its scheme"),
        (["serve", "--port", "99999"], "--port must be a port from 0 to 65535"),
        (["sandbox", "--port", "-1"], "--port must be a port from 0 to 65535"),
    ],
)
def test_a_bad_flag_is_one_line_naming_it(tmp_path: Path, args: list[str], says: str) -> None:
    result = _run(args, _env(tmp_path, {}))
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"paycombat-gateway: {says}")
    assert not (tmp_path / "data").exists()


def test_manifest_writes_where_it_is_told(tmp_path: Path) -> None:
    written = tmp_path / "m.json"
    result = _run(
        ["manifest", "-o", str(written), "--app-url", "https://pay.example.com/"], _env(tmp_path, {})
    )
    assert result.returncode == 0, result.stderr
    assert '"tokenTargetUrl": "https://pay.example.com/api/register"' in written.read_text()


def test_booleans_take_the_usual_words(tmp_path: Path) -> None:
    """``off``/``no``/``0`` turn a worker off (and start-up says so), not just ``false``."""
    env = _env(tmp_path, {"RUN_OUTBOX_WORKER": "Off", "RECONCILE": "no", "LOG_FORMAT": "text"})
    port = free_port()
    with serve_process(env, port) as served:
        assert requests.get(f"{served.url}/readyz", timeout=5).json() == {"status": "ready"}
    assert (
        "background workers: outbox worker off (RUN_OUTBOX_WORKER=false), reconciler off (RECONCILE=false)"
        in served.stderr
    )


def test_read_only_commands_write_no_key(tmp_path: Path) -> None:
    env = _env(tmp_path, {})
    assert _run(["migrate"], env).returncode == 0
    listed = _run(["config", "list"], env)
    assert listed.returncode == 0, listed.stderr
    assert "no Saleor has installed the app yet" in listed.stdout
    assert _run(["rotate-secrets"], env).returncode == 0
    assert not (tmp_path / "data" / "secret.key").exists()
    assert "APP_SECRET_KEY is not set" not in listed.stderr, "the development key is serve's warning alone"
