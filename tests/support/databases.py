"""Throwaway databases for tests: a SQLite file, or a fresh database on the local PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from paycombat_gateway.storage.db import Database
from paycombat_gateway.storage.migrate import migrate

POSTGRES_ADMIN_DSN = os.environ.get(
    "TEST_POSTGRES_ADMIN_DSN", "host=127.0.0.1 port=5432 dbname=postgres user=postgres"
)
POSTGRES_URL_TEMPLATE = os.environ.get(
    "TEST_POSTGRES_URL_TEMPLATE", "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
)


@contextmanager
def postgres_database_url() -> Iterator[str]:
    """Create an empty database on 127.0.0.1:5432, yield its URL, drop it afterwards."""
    name = f"pcg_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:  # a clear failure, never a skip
        raise RuntimeError(
            "PostgreSQL on 127.0.0.1:5432 is needed for these tests (scripts/services starts it): " + str(exc)
        ) from exc
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_URL_TEMPLATE.format(name=name)
    finally:
        with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def migrated_database(backend: str, tmp_path: Path) -> Iterator[Database]:
    """A migrated ``Database`` on ``backend`` ("sqlite" or "postgresql"), disposed afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.sqlite3'}"
        migrate(url)
        database = Database.from_url(url)
        try:
            yield database
        finally:
            database.dispose()
        return
    with postgres_database_url() as url:
        migrate(url)
        database = Database.from_url(url, pool_size=4)
        try:
            yield database
        finally:
            database.dispose()
