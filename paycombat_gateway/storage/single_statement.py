"""One self-contained write statement, run in autocommit on the pool's own DBAPI connection.

Every ``transactionInitialize`` writes twice: the idempotency claim before PayCombat is called and the
checkout once it exists (with its announcement to Saleor in the same transaction: ``run_then``). Each is a single statement that is atomic on its own (``INSERT … ON CONFLICT
DO NOTHING RETURNING``, ``UPDATE … RETURNING``), so it needs no BEGIN and COMMIT around it: in autocommit
the database commits it as it runs. Measured on SQLite for the pair, in an isolated loop: about 0.6 ms
of CPU through an ORM session, 0.4 ms through a Core connection, 0.12 ms here (docs/benchmarks.md).

The statement is still written with SQLAlchemy Core and compiled once per dialect; values pass through
each column type's own bind processor, so the stored row is the one the ORM would store. A database
error is wrapped as SQLAlchemy wraps it (``DBAPIError.instance``) and a connection the database dropped
is invalidated rather than handed back to the pool.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.elements import BindParameter

__all__ = ["SingleStatement"]


# One bound parameter: its name for the driver, the key of its value in the caller's values (None: the
# statement's own value, read from the ``BindParameter`` that follows), and the column type's
# conversion (None: passed as it is).
_Bind = tuple[str, str | None, BindParameter[Any], Callable[[Any], Any] | None]


@dataclass(frozen=True, slots=True)
class SingleStatement:
    """A DML statement compiled for one dialect and one set of value keys."""

    compiled: SQLCompiler
    positional: bool  # the driver takes a sequence (SQLite's qmark); else a mapping (psycopg's pyformat)
    binds: tuple[_Bind, ...]  # every bound parameter, in the driver's order when positional

    @property
    def sql(self) -> str:
        return self.compiled.string

    @classmethod
    def compile(cls, statement: UpdateBase, dialect: Dialect, keys: Sequence[str]) -> SingleStatement:
        """Compile ``statement`` for values under ``keys``.

        Columns with a Python-side default (``default=``/``onupdate=``) must be among ``keys``: their
        defaults run inside SQLAlchemy's execution, which this path skips. RETURNING columns must need
        no conversion on the way out (ids, strings), since rows come back exactly as the driver gives them.

        Where each bound value comes from is worked out here, once, as ``construct_params`` works it
        out on every call (a value under the parameter's key or name, else the statement's own), so
        ``parameters`` only fills them in: half its CPU on the hot path's 37-column claim.
        """
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        defaulted = [column.key for column in (*compiled.insert_prefetch, *compiled.update_prefetch)]
        missing = sorted(set(defaulted) - set(keys))
        if missing:
            raise ValueError(f"give {', '.join(missing)} explicitly: Python-side defaults do not run here")
        for column in statement.exported_columns:
            if column.type.dialect_impl(dialect).result_processor(dialect, None) is not None:
                raise ValueError(f"RETURNING {column.key} would need converting; return ids and strings")
        given = set(keys)
        binds: dict[str, _Bind] = {}
        for parameter, name in compiled.bind_names.items():
            driver_name = compiled.escaped_bind_names.get(name, name)
            key = parameter.key if parameter.key in given else name if name in given else None
            if key is None and parameter.required:
                raise ValueError(f"give {parameter.key}: the statement has no value of its own for it")
            processor = parameter.type.dialect_impl(dialect).bind_processor(dialect)  # as SQLAlchemy would
            binds[driver_name] = (driver_name, key, parameter, processor)
        order = compiled.positiontup if compiled.positional else None
        return cls(
            compiled=compiled,
            positional=order is not None,
            binds=tuple(binds[name] for name in order) if order is not None else tuple(binds.values()),
        )

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
        """The driver's parameters for ``values``: every bind filled and converted, in the driver's style."""
        filled = []
        for _, key, parameter, processor in self.binds:
            value = values[key] if key is not None else parameter.effective_value
            filled.append(value if processor is None else processor(value))
        if self.positional:
            return filled
        return {bind[0]: value for bind, value in zip(self.binds, filled, strict=True)}

    def run(
        self, engine: Engine, values: Mapping[str, Any], held: PoolProxiedConnection | None = None
    ) -> tuple[Any, ...] | None:
        """Execute once in autocommit; the first RETURNING row, or None when no row was written. On
        ``held``, a connection the caller keeps (``Database``'s for the serving loop), when given; on
        one of the pool's otherwise."""
        parameters = self.parameters(values)
        with (
            _pooled(engine, self.sql, parameters, held) as connection,
            _autocommit(connection, engine.dialect),
        ):
            row = _execute(connection, self.sql, parameters)
            if getattr(connection.driver_connection, "in_transaction", False):
                connection.commit()  # a driver that opened a transaction anyway
        return row

    def run_then(
        self,
        engine: Engine,
        values: Mapping[str, Any],
        then: Callable[[tuple[Any, ...] | None], Followup],
        held: PoolProxiedConnection | None = None,
    ) -> tuple[Any, ...] | None:
        """Execute this statement and the one ``then`` builds from its row (None: no second statement)
        in one transaction on one connection (``held``, as for ``run``): both are written, or neither.
        This statement's row."""
        parameters = self.parameters(values)
        with _pooled(engine, self.sql, parameters, held) as connection:
            try:
                if engine.dialect.name == "sqlite":  # the app's SQLite connections are in autocommit
                    _execute(connection, "BEGIN IMMEDIATE", ())
                row = _execute(connection, self.sql, parameters)
                followup = then(row)
                if followup is not None:
                    statement, following = followup
                    _execute(connection, statement.sql, statement.parameters(following))
                connection.commit()
            except BaseException:
                connection.rollback()
                raise
        return row


# The second statement of ``run_then`` with its values.
Followup = tuple[SingleStatement, Mapping[str, Any]] | None


def _execute(
    connection: PoolProxiedConnection, sql: str, parameters: Sequence[Any] | Mapping[str, Any]
) -> tuple[Any, ...] | None:
    cursor = connection.cursor()
    try:
        cursor.execute(sql, parameters)
        row = cursor.fetchone() if cursor.description else None
    finally:
        cursor.close()  # ends the statement, and with it SQLite's implicit transaction
    return tuple(row) if row is not None else None


@contextmanager
def _pooled(
    engine: Engine,
    sql: str,
    parameters: Sequence[Any] | Mapping[str, Any],
    held: PoolProxiedConnection | None = None,
) -> Iterator[PoolProxiedConnection]:
    """The pool's DBAPI connection, handed back afterwards (or ``held``, the caller's, kept); a database
    error wrapped as SQLAlchemy wraps it, and a connection the database dropped invalidated rather than
    handed back (a held one too: its owner opens another)."""
    dialect = engine.dialect
    connection: PoolProxiedConnection | None = held
    try:
        if connection is None:
            connection = engine.raw_connection()
        yield connection
    except dialect.loaded_dbapi.Error as exc:
        dropped = connection is None or dialect.is_disconnect(exc, connection, None)
        if connection is not None and dropped:
            connection.invalidate(exc)
        raise DBAPIError.instance(
            sql, parameters, exc, dialect.loaded_dbapi.Error, connection_invalidated=dropped, dialect=dialect,
        ) from exc  # fmt: skip
    finally:
        if connection is not None and connection is not held:
            connection.close()


@contextmanager
def _autocommit(connection: PoolProxiedConnection, dialect: Dialect) -> Iterator[None]:
    """Autocommit for the statement. The app's SQLite connections are in autocommit already (SQLAlchemy
    issues BEGIN itself); a PostgreSQL connection is switched for the statement and switched back."""
    if dialect.name != "postgresql":
        yield
        return
    driver = connection.driver_connection
    driver.autocommit = True  # type: ignore[union-attr]
    try:
        yield
    finally:
        if not driver.closed:  # type: ignore[union-attr]
            driver.autocommit = False  # type: ignore[union-attr]
