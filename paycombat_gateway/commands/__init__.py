"""Sub-commands of ``paycombat-gateway``: each module here defines ``register(subparsers)``.

``open_context`` is what the commands that read or change the app's database share.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["open_context", "positive_int"]


def positive_int(text: str) -> int:
    """A whole number above zero, as an ``argparse`` type (argparse names the option and exits 2)."""
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"a whole number above zero, not {text!r}")
    return number


def open_context(*, migrate_it: bool) -> Any:
    """The context ``serve`` would build, on a database that already exists (never a new, empty one).

    Says on stderr which database it opened (standard output may be JSON). A missing SQLite file means
    the command runs with other settings than ``serve`` (another folder, another DATA_DIR): one line,
    and nothing is created. ``migrate_it`` for commands that write; readers only check the schema.
    """
    from paycombat_gateway.gateway.context import GatewayContext
    from paycombat_gateway.settings import Settings, SettingsError
    from paycombat_gateway.storage.db import Database, shown_url
    from paycombat_gateway.storage.migrate import migrate, readiness_problem

    settings = Settings.from_env()
    url = settings.resolved_database_url
    print(f"database: {shown_url(url)} (from {settings.database_setting})", file=sys.stderr)
    sqlite = settings.sqlite_path
    if sqlite is not None and not sqlite.exists():
        raise SettingsError(
            f"{settings.database_setting}: there is no database at {sqlite}, so serve has not run with these "
            "settings; run this with the DATA_DIR / DATABASE_URL that serve uses (nothing was created)"
        )
    database = Database.from_url(url)
    try:
        database.require_reachable()  # an unreachable PostgreSQL: one line (DatabaseUnusable)
        if migrate_it:
            migrate(url)
        elif (problem := readiness_problem(database.engine)) is not None:
            raise SettingsError(f"{settings.database_setting}: {problem}")
    except BaseException:
        database.dispose()
        raise
    return GatewayContext.create(settings, database)
