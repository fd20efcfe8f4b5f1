"""Every storage test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from paycombat_gateway.storage.db import Database
from paycombat_gateway.storage.secrets import SecretBox
from tests.support.databases import migrated_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with migrated_database(request.param, tmp_path) as database:
        yield database


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(["a-test-passphrase-that-is-long-enough"])
