"""Alembic, driven from code: the migrations ship inside the package and need no alembic.ini."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from paycombat_gateway.storage.db import Database, prepare_sqlite_path

__all__ = ["alembic_config", "current_revision", "head_revision", "migrate", "readiness_problem"]

logger = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")


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
    """None when the database answers and is at the packaged head; otherwise what is wrong."""
    try:
        current = current_revision(engine)
    except Exception as exc:  # any driver error means "not ready"
        return f"database unreachable: {type(exc).__name__}"
    head = head_revision()
    if current != head:
        return f"database at migration {current}, expected {head}: run paycombat-gateway migrate"
    return None
