"""Alembic, driven from code: the migrations ship inside the package and need no alembic.ini."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from paycombat_gateway.storage.db import Database, prepare_sqlite_path, sqlite_file

__all__ = ["alembic_config", "current_revision", "head_revision", "migrate", "readiness_problem"]

logger = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
MIN_FREE_BYTES = 16 * 1024 * 1024  # below this on the SQLite file's disk, the next writes start failing
# A write that changes nothing yet is a real one: a row version, a WAL frame, a commit.
_WRITE_PROBE = text("UPDATE alembic_version SET version_num = version_num")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def migrate(database_url: str, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` (creating every table on an empty database).

    A database that cannot be opened raises ``DatabaseUnusable``: one line, never a driver traceback.
    """
    prepare_sqlite_path(database_url)
    probe = Database.from_url(database_url, pool_size=1)
    try:
        probe.require_reachable()
        before = current_revision(probe.engine)
    finally:
        probe.dispose()
    command.upgrade(alembic_config(database_url), revision)
    target = head_revision() if revision == "head" else revision
    if before != target:  # the one line worth logging; configure_logging silences Alembic's narration
        logger.info("database migrated from %s to %s", before or "an empty database", target)


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def readiness_problem(engine: Engine) -> str | None:
    """None when the database answers, is at the packaged head and takes writes; otherwise what is wrong."""
    try:
        current = current_revision(engine)
    except Exception as exc:  # any driver error means "not ready"
        return f"database unreachable: {type(exc).__name__}"
    head = head_revision()
    if current != head:
        return f"database at migration {current}, expected {head}: run paycombat-gateway migrate"
    return _write_problem(engine)


def _write_problem(engine: Engine) -> str | None:
    """Whether writes commit. A full disk or a read-only database fails every write while reads still
    answer, and an instance that cannot store a webhook must not take traffic."""
    path = sqlite_file(engine.url)
    if path is not None:
        free = shutil.disk_usage(path.parent).free
        if free < MIN_FREE_BYTES:
            return f"the disk holding the database is full ({free // 1024} KiB free)"
    try:
        with engine.begin() as connection:
            connection.execute(_WRITE_PROBE)
    except Exception as exc:  # whatever the driver says, a failed write means "not ready"
        return f"the database refuses writes: {type(exc).__name__}"
    return None
