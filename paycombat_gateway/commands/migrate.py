"""``paycombat-gateway migrate``: bring the database to the packaged schema (also run by ``serve``)."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def _migrate(args: argparse.Namespace) -> int:
    from paycombat_gateway.settings import Settings, normalise_database_url
    from paycombat_gateway.storage.db import shown_url
    from paycombat_gateway.storage.migrate import head_revision, migrate

    url = normalise_database_url(args.database_url or "") or Settings.from_env().resolved_database_url
    migrate(url)
    print(f"database {shown_url(url)} is at migration {head_revision()}")
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("migrate", help="apply database migrations")
    parser.add_argument(
        "--database-url", help="database to migrate (default: DATABASE_URL, or the SQLite file in DATA_DIR)"
    )
    parser.set_defaults(handler=_migrate)
