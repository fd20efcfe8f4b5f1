"""``INSERT … ON CONFLICT DO NOTHING RETURNING`` for SQLite and PostgreSQL.

One statement decides a race on a unique key: the winner gets its row back, everyone else gets
nothing. It replaces a savepoint, an insert that may fail and a rollback, and holds no lock longer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from paycombat_gateway.storage.models import Base

__all__ = ["insert_unless_exists"]


def insert_unless_exists(
    session: Session, model: type[Base], conflict_columns: Sequence[str], **values: Any
) -> Any:
    """Insert a row of ``model``; its new primary key, or None when a row with the same
    ``conflict_columns`` already exists. Core, not ORM: nothing is loaded back but the key."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = cast(Table, model.__table__)
    statement = (
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(conflict_columns))
        .returning(table.c.id)
    )
    return session.execute(statement).scalar()
