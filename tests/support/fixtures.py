"""The files the suite reads from ``tests/fixtures/`` (see its README for where each comes from)."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def fixture_path(name: str) -> Path:
    """The path of ``tests/fixtures/<name>``; a missing file fails the test with one line naming it.

    Without this check a missing schema or capture surfaced three layers away (an empty JWKS made every
    webhook look like an unknown app), which sent the reader after the wrong cause.
    """
    path = FIXTURES / name
    if not path.is_file():
        pytest.fail(f"test fixture missing: {path} (see tests/fixtures/README.md)", pytrace=False)
    return path


def fixture_text(name: str) -> str:
    return fixture_path(name).read_text(encoding="utf-8")
