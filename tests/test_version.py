"""The release's version, from pyproject.toml, is what ``--version`` and ``/healthz`` say and what
CHANGELOG.md describes."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import requests
from starlette.applications import Starlette

from paycombat_gateway import __version__
from paycombat_gateway.background_server import serve_in_thread
from paycombat_gateway.web.health import health_routes

ROOT = Path(__file__).resolve().parents[1]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def test_the_installed_version_is_pyprojects() -> None:
    assert __version__ == VERSION == "0.2.0", "reinstall (scripts/setup) after changing the version"


def test_version_flag_prints_it() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "paycombat_gateway", "--version"], capture_output=True, text=True, timeout=60,
        check=True,
    )  # fmt: skip
    assert result.stdout.strip() == f"paycombat-gateway {VERSION}"


def test_healthz_says_it() -> None:
    with serve_in_thread(Starlette(routes=health_routes(lambda: None))) as url:
        assert requests.get(f"{url}/healthz", timeout=5).json() == {"status": "ok", "version": VERSION}


def test_the_changelog_has_an_entry_for_it() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert changelog.startswith("# Changelog")
    assert "## [Unreleased]" in changelog
    assert f"## [{VERSION}] - " in changelog
