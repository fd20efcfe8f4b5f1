"""``paycombat-gateway serve`` on an empty machine: no database, no key, no folder; it still serves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from paycombat_gateway.background_server import bind_loopback
from paycombat_gateway.storage.migrate import head_revision
from tests.support.serve_process import free_port, serve_process


def _serve_from_nothing(tmp_path: Path, *options: str) -> tuple[subprocess.Popen[bytes], int]:
    """``serve`` on a free port with no database, no key and no folder; the process and its port."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_URL", "APP_"))}
    env.update(DATA_DIR=str(tmp_path / "data"), APP_URL=f"http://127.0.0.1:{port}")
    process = subprocess.Popen(
        [sys.executable, "-m", "paycombat_gateway", "serve", "--port", str(port), *options],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    return process, port


def test_serve_from_nothing_serves_the_manifest(tmp_path: Path) -> None:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_URL", "APP_"))}
    env.update(DATA_DIR=str(tmp_path / "data"), APP_URL=f"http://127.0.0.1:{port}")
    with serve_process(env, port) as served:
        manifest = requests.get(f"{served.url}/api/manifest", timeout=5)
        assert manifest.status_code == 200
        assert manifest.json()["tokenTargetUrl"] == f"http://127.0.0.1:{port}/api/register"
        assert (tmp_path / "data" / "paycombat-gateway.sqlite3").exists()
        assert requests.get(f"{served.url}/readyz", timeout=5).json() == {"status": "ready"}
    assert not (tmp_path / "data" / "secret.key").exists(), "made when the first secret is stored"
    lines = [json.loads(line) for line in served.stderr.splitlines() if line.startswith("{")]
    warnings = [line for line in lines if "APP_SECRET_KEY is not set" in line["message"]]
    assert [line["level"] for line in warnings] == ["WARNING"], "the development key is warned about once"
    assert [line["message"] for line in lines if line["message"].startswith("background workers")] == [
        "background workers: outbox worker on, reconciler on"
    ]
    # quiet by default: one line about the migration, none of Alembic's narration (start and /readyz)
    assert not [line for line in lines if line["logger"].startswith("alembic")]
    assert [line["message"] for line in lines if line["logger"].endswith("migrate")] == [
        f"database migrated from an empty database to {head_revision()}"
    ]
    # uvicorn[standard]'s uvloop and httptools run, and start-up says so (issue 22: a quarter of the CPU)
    assert "event loop uvloop, HTTP parser httptools" in [line["message"] for line in lines]


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


def _children(pid: int) -> list[int]:
    """The worker processes of uvicorn's supervisor ``pid`` (not multiprocessing's resource tracker)."""
    children = [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return [child for child in children if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()]


def test_serve_with_workers_runs_that_many_processes_on_one_port(tmp_path: Path) -> None:
    process, port = _serve_from_nothing(tmp_path, "--workers", "2")
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, "serve exited"
            try:
                ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                if ready.status_code == 200 and len(_children(process.pid)) >= 2:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "two workers did not start"
            time.sleep(0.2)
        assert ready.json() == {"status": "ready"}
        workers = _children(process.pid)
        assert len(workers) == 2 and all(Path(f"/proc/{pid}").exists() for pid in workers)
        for _ in range(20):  # every answer comes from one of them, whichever takes the connection
            assert requests.get(f"http://127.0.0.1:{port}/api/manifest", timeout=5).status_code == 200
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
    assert "Traceback" not in stderr.decode()
    lines = [json.loads(line) for line in stderr.decode().splitlines() if line.startswith("{")]
    requests_logged = [line for line in lines if "/api/manifest" in line["message"]]
    assert len(requests_logged) == 20, "every request is logged once, not by uvicorn as well"
    assert all(line["logger"] == "paycombat_gateway.http" for line in requests_logged)
    warnings = [line for line in lines if "APP_SECRET_KEY is not set" in line["message"]]
    assert len(warnings) == 1, "the parent warns once, not every worker"


def test_without_app_url_the_manifest_names_the_port_served(tmp_path: Path) -> None:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_URL", "APP_"))}
    env.update(DATA_DIR=str(tmp_path / "data"))
    with serve_process(env, port) as served:
        manifest = requests.get(f"{served.url}/api/manifest", timeout=5).json()
    assert manifest["tokenTargetUrl"] == f"http://127.0.0.1:{port}/api/register"
    assert manifest["appUrl"].startswith(f"http://127.0.0.1:{port}/")


def test_an_impossible_port_is_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data")}
    for command in ("serve", "sandbox"):
        result = subprocess.run(
            [sys.executable, "-m", "paycombat_gateway", command, "--port", "99999"], env=env,
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 2
        assert result.stderr.strip() == (
            "paycombat-gateway: --port must be a port from 0 to 65535 (0 = any free port), not 99999"
        )
    assert not (tmp_path / "data").exists()


def test_workers_must_be_a_positive_number(tmp_path: Path) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "paycombat_gateway", "serve", "--workers", "0"], env=env, capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--workers: a whole number above zero, not '0'" in result.stderr
