"""``paycombat-gateway serve`` on an empty machine: no database, no key, no folder; it still serves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import requests

from paycombat_gateway.background_server import bind_loopback
from paycombat_gateway.storage.migrate import head_revision
from tests.support.serve_process import free_port, serve_process


def test_serve_from_nothing_serves_the_manifest(tmp_path: Path) -> None:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_URL", "APP_"))}
    env.update(DATA_DIR=str(tmp_path / "data"), APP_URL=f"http://127.0.0.1:{port}")
    with serve_process(env, port) as served:
        manifest = requests.get(f"{served.url}/api/manifest", timeout=5)
        assert manifest.status_code == 200
        assert manifest.json()["tokenTargetUrl"] == f"http://127.0.0.1:{port}/api/register"
        assert (tmp_path / "data" / "paycombat-gateway.sqlite3").exists()
        assert (tmp_path / "data" / "secret.key").exists()
        assert requests.get(f"{served.url}/readyz", timeout=5).json() == {"status": "ready"}
    lines = [json.loads(line) for line in served.stderr.splitlines() if line.startswith("{")]
    assert any(
        line["level"] == "WARNING" and "APP_SECRET_KEY is not set" in line["message"] for line in lines
    )
    # quiet by default: one line about the migration, none of Alembic's narration (start and /readyz)
    assert not [line for line in lines if line["logger"].startswith("alembic")]
    assert [line["message"] for line in lines if line["logger"].endswith("migrate")] == [
        f"database migrated from an empty database to {head_revision()}"
    ]


def test_a_taken_port_is_named(tmp_path: Path) -> None:
    taken = bind_loopback()
    taken.listen(1)
    port = taken.getsockname()[1]
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data")}
    try:
        for command in ("serve", "sandbox"):
            result = subprocess.run(
                [sys.executable, "-m", "paycombat_gateway", command, "--port", str(port)], env=env,
                capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
            assert result.returncode == 2
            assert result.stderr.strip() == (
                f"paycombat-gateway {command}: port {port} on 127.0.0.1 is already in use by another program; "
                "choose another with --port"
            )
    finally:
        taken.close()
    assert not (tmp_path / "data").exists(), "a refused start creates nothing"


def test_production_refuses_to_start_without_its_settings(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("APP_")}
    env.update(APP_ENV="production", DATA_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "paycombat_gateway", "serve", "--port", "1"], env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert (
        "APP_ENV=production needs APP_URL, APP_SECRET_KEY" in result.stderr
        and "Traceback" not in result.stderr
    )


def test_every_command_names_a_bad_setting_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path), "PAYCOMBAT_READ_TIMEOUT": "ten"}
    result = subprocess.run(
        [sys.executable, "-m", "paycombat_gateway", "manifest"], env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "paycombat-gateway: PAYCOMBAT_READ_TIMEOUT must be a number of seconds above 0, not 'ten'"
    )
