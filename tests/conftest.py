"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The reference material beside the project (``../shared``), which CI copies next to the clone."""
    assert SHARED.is_dir(), f"the reference folder {SHARED} is missing"
    return SHARED
