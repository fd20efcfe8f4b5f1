"""Throwaway databases for tests: a SQLite file, or a fresh database on the local PostgreSQL."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy.engine import URL

from paycombat_gateway.storage.db import Database
from paycombat_gateway.storage.migrate import migrate

DEFAULT_ADMIN_DSN = "host=127.0.0.1 port=5432 dbname=postgres user=postgres"
POSTGRES_ADMIN_DSN = os.environ.get("TEST_POSTGRES_ADMIN_DSN", "").strip() or DEFAULT_ADMIN_DSN
current_test: pytest.Item | None = None  # set by tests/conftest.py for the marker check below


def _url_template(admin_dsn: str) -> str:
    """The URL of a database ``{name}`` on the admin DSN's server, as the same user."""
    parts = conninfo_to_dict(admin_dsn)
    host = str(parts.get("host") or "127.0.0.1")
    socket_dir = host.startswith("/")  # a Unix socket folder goes in the query, not the authority
    url = URL.create(
        "postgresql+psycopg",
        username=str(parts.get("user") or "postgres"),
        password=str(parts["password"]) if parts.get("password") else None,
        host=None if socket_dir else host,
        port=None if socket_dir else int(parts.get("port") or 5432),
        database="NAME",
        query={"host": host} if socket_dir else {},
    )
    return url.render_as_string(hide_password=False).replace("NAME", "{name}")


POSTGRES_URL_TEMPLATE = os.environ.get("TEST_POSTGRES_URL_TEMPLATE", "").strip() or _url_template(
    POSTGRES_ADMIN_DSN
)


def _shown_dsn() -> str:
    """The admin DSN as tried, password masked, and where it came from."""
    shown = re.sub(r"(password\s*=\s*)\S+", r"\1***", POSTGRES_ADMIN_DSN)
    shown = re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", shown)  # the URL form, user:password@host
    if os.environ.get("TEST_POSTGRES_ADMIN_DSN", "").strip():
        return f"{shown!r} (from TEST_POSTGRES_ADMIN_DSN)"
    return f"{shown!r} (the default; set TEST_POSTGRES_ADMIN_DSN for another server)"


@contextmanager
def postgres_database_url() -> Iterator[str]:
    """Create an empty database on the test PostgreSQL server, yield its URL, drop it afterwards."""
    if current_test is not None and current_test.get_closest_marker("postgres") is None:
        pytest.fail(
            f"{current_test.nodeid} uses PostgreSQL but is not marked: add @pytest.mark.postgres",
            pytrace=False,
        )
    name = f"pcg_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True, connect_timeout=5)
        unreachable = None
    except psycopg.OperationalError as exc:  # a clear failure, never a skip
        unreachable = " ".join(str(exc).split())
    if unreachable is not None:  # outside the except block: the failure is this one line, no chained trace
        message = (
            f"PostgreSQL is needed here and did not answer at {_shown_dsn()}: {unreachable}. Start it with "
            'scripts/services, or leave these tests out: -m "not postgres"'
        )
        if current_test is None:  # the benchmarks, outside pytest
            raise RuntimeError(message)
        pytest.fail(message, pytrace=False)
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
