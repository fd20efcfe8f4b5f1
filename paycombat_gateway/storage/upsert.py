"""``INSERT … ON CONFLICT DO NOTHING RETURNING`` for SQLite and PostgreSQL.

One statement decides a race on a unique key: the winner gets its row back, everyone else gets
nothing. It replaces a savepoint, an insert that may fail and a rollback, and holds no lock longer.

The statement is built once per (table, dialect, conflict target) and the row travels as bound
parameters: building an ``insert().values(...)`` with some thirty columns on every call cost more than
running it (about 0.3 ms of 0.5 ms on SQLite).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from paycombat_gateway.storage.models import Base

__all__ = ["insert_unless_exists", "unless_exists_statement"]


@lru_cache(maxsize=32)
def unless_exists_statement(table: Table, dialect: str, conflict_columns: tuple[str, ...] | None) -> Insert:
    """The statement, returning the new row's ``id``; rows travel as bound parameters."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=list(conflict_columns) if conflict_columns else None)
        .returning(table.c.id)
    )


def insert_unless_exists(
    session: Session, model: type[Base], conflict_columns: Sequence[str] | None, **values: Any
) -> Any:
    """Insert a row of ``model``; its new primary key, or None when a row with the same
    ``conflict_columns`` already exists. Core, not ORM: nothing is loaded back but the key.

    ``conflict_columns=None`` makes every unique constraint of the table an arbiter. Use it when a
    racing insert can collide on more than one of them: PostgreSQL resolves a race only on its
    arbiters and raises a unique violation for any other constraint the loser reaches first.
    """
    dialect = session.get_bind().dialect.name
    target = tuple(conflict_columns) if conflict_columns else None
    statement = unless_exists_statement(cast(Table, model.__table__), dialect, target)
    return session.execute(statement, values).scalar()
