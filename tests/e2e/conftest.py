from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.saleor_double import NEWEST
from tests.support.stack import Stack, run_stack


@pytest.fixture
def saleor_version() -> str:
    """The Saleor the double behaves as; a module overrides this to run its flows on several."""
    return NEWEST


@pytest.fixture
def stack(tmp_path: Path, saleor_version: str) -> Iterator[Stack]:
    with run_stack(tmp_path, saleor_version) as running:
        yield running
