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
    session: Session, model: type[Base], conflict_columns: Sequence[str] | None, **values: Any
) -> Any:
    """Insert a row of ``model``; its new primary key, or None when a row with the same
    ``conflict_columns`` already exists. Core, not ORM: nothing is loaded back but the key.

    ``conflict_columns=None`` makes every unique constraint of the table an arbiter. Use it when a
    racing insert can collide on more than one of them: PostgreSQL resolves a race only on its
    arbiters and raises a unique violation for any other constraint the loser reaches first.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = cast(Table, model.__table__)
    statement = (
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(conflict_columns) if conflict_columns else None)
        .returning(table.c.id)
    )
    return session.execute(statement).scalar()
