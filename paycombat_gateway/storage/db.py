"""Engine and sessions for SQLite (the zero-set-up default) and PostgreSQL (several instances)."""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.dml import UpdateBase

from paycombat_gateway.settings import SettingsError
from paycombat_gateway.storage.single_statement import SingleStatement

__all__ = [
    "INLINE_BUSY_MS",
    "Database",
    "DatabaseUnusable",
    "StorageUnavailable",
    "WriterBusy",
    "database_unusable",
    "prepare_sqlite_path",
    "shown_url",
    "sqlite_file",
]

logger = logging.getLogger(__name__)
T = TypeVar("T")
CONNECT_TIMEOUT = 5  # seconds, PostgreSQL
BUSY_TIMEOUT_MS = 10_000  # how long a SQLite writer in a worker thread waits for another's lock
# How long a SQLite write run inline on the event loop (``Database.inline``) may wait for another
# writer before it gives up and is run again in a worker thread instead: for this process's write lock
# (a worker thread's write), then for SQLite's (another process's), each. A neighbour's write takes
# well under a millisecond; the loop stalls at most twice this for one write that meets a longer one.
INLINE_BUSY_MS = 5


def sqlite_file(url: str | URL) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    if parsed.query.get("mode") == "memory":  # sqlite:///file:name?mode=memory&uri=true
        return None
    if parsed.query.get("uri") == "true" and parsed.database.startswith("file:"):
        return Path(parsed.database.removeprefix("file:"))  # sqlite:///file:/path?mode=ro&uri=true
    return Path(parsed.database)


def shown_url(url: str | URL) -> str:
    """A database URL as it may appear in messages and logs: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


class DatabaseUnusable(SettingsError):
    """The configured database cannot be opened at all (unreachable, missing, a file in the way).

    A ``SettingsError``: a command that meets it prints one line naming the database and exits 2.
    """


def _driver_reason(exc: BaseException) -> str:
    """The first line of a driver's error without the connection preamble, e.g. 'Connection refused'."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    first = lines[0] if lines else type(orig).__name__
    first = first.rsplit(" failed: ", 1)[-1]  # psycopg: 'connection to server at "h", port 1 failed: ...'
    return re.sub(r"^FATAL:\s+", "", first).strip()


def database_unusable(url: str | URL, exc: BaseException) -> DatabaseUnusable:
    """One line saying which database could not be opened and why."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return DatabaseUnusable(f"the SQLite file {parsed.database} cannot be opened: {_driver_reason(exc)}")
    reason = _driver_reason(exc)
    if "does not exist" in reason and "database" in reason:
        reason += f" (create it first: createdb {parsed.database})"
    elif "refused" in reason.lower() or "timeout" in reason.lower():
        reason += " (is PostgreSQL running there?)"
    return DatabaseUnusable(f"DATABASE_URL {shown_url(parsed)} cannot be used: {reason}")


def prepare_sqlite_path(url: str) -> None:
    """Create the folder of a SQLite file, so a fresh machine needs no set-up."""
    path = sqlite_file(url)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseUnusable(
                f"the SQLite file {path} cannot be created: {exc.strerror} ({exc.filename})"
            ) from None


class StorageUnavailable(RuntimeError):
    """The database did not answer after a few quick retries."""


class WriterBusy(BaseException):
    """An inline attempt (``Database.inline``) met another writer's lock before it had committed
    anything: nothing was written, run the work again in a worker thread, where it may wait.

    A ``BaseException`` so that no ``except Exception`` in the work can swallow it on its way out."""


def _is_locked(exc: BaseException) -> bool:
    """SQLite's SQLITE_BUSY: another connection holds the write lock."""
    orig = getattr(exc, "orig", exc)
    return isinstance(orig, sqlite3.OperationalError) and "locked" in str(orig)


class _InlineAttempt:
    """One ``Database.inline`` call on this thread: whether it has committed anything yet."""

    __slots__ = ("committed",)

    def __init__(self) -> None:
        self.committed = False


def _is_unavailable(exc: BaseException) -> bool:
    """Connection trouble (unreachable, refused, killed, timed out, locked), not a bad statement."""
    return isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)
    )


def _quiet_rollback(session: Session) -> None:
    """Roll back; on a connection that is already gone that can fail too, and must not hide why."""
    try:
        session.rollback()
    except DBAPIError:
        logger.debug("rollback failed on a lost connection", exc_info=True)


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable across app crashes with WAL
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()
    connection_record.info["busy_ms"] = BUSY_TIMEOUT_MS


def _sqlite_begin(conn: Any) -> None:
    # Writers BEGIN IMMEDIATE: they take the write lock up front, so a read-then-write transaction never
    # fails half way with "database is locked". Read-only sessions BEGIN DEFERRED and, with WAL, never
    # wait for anyone.
    mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    conn.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """One engine and session factory per process; ``session()`` commits or rolls back as a unit."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(bind=engine, expire_on_commit=False)
        reader = engine.execution_options(sqlite_begin="DEFERRED") if self.is_sqlite else engine
        self._read_sessions = sessionmaker(bind=reader, expire_on_commit=False)
        # SQLite has one writer at a time. Queueing this process's writers on a lock wakes the next one
        # at once, where SQLite's busy handler would poll with sleeps of up to 100 ms.
        self._write_lock: threading.RLock | None = threading.RLock() if self.is_sqlite else None
        self._writing = threading.local()  # this thread's open write sessions, see write_single
        self._inline = threading.local()  # this thread's inline attempt (``inline``), if any
        # The connection each thread's inline work (``inline``: the serving loop's) writes its single
        # statements on, kept out of the pool: checking one out and back in per statement cost a third
        # of the statement's own CPU (pool events, the reset on return), for no use on a loop that
        # runs one statement at a time.
        self._held: list[PoolProxiedConnection] = []
        self._held_lock = threading.Lock()
        if self.is_sqlite:
            event.listen(engine, "checkout", self._busy_timeout_for_caller)
        self._single_statements: dict[tuple[UpdateBase, tuple[str, ...]], SingleStatement] = {}

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @classmethod
    def from_url(cls, url: str, *, pool_size: int = 10) -> Database:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            prepare_sqlite_path(url)
            engine = create_engine(
                parsed,
                connect_args={"check_same_thread": False, "timeout": 10, "isolation_level": None},
            )
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
        else:
            # A database host that drops packets must fail a request in seconds, not after the kernel's
            # two-minute TCP give-up; a connect_timeout in the URL wins.
            connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": CONNECT_TIMEOUT}
            engine = create_engine(
                parsed,
                connect_args=connect_args,
                pool_pre_ping=True,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_recycle=1800,
            )
        return cls(engine)

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises.

        ``readonly`` sessions never take SQLite's write lock; use them for lookups. A database that
        cannot be reached (or a connection lost mid-transaction) raises ``StorageUnavailable``, which
        every route answers with a 503 its caller retries, instead of an unexplained 500.
        """
        attempt: _InlineAttempt | None = getattr(self._inline, "attempt", None)
        with self._writer_lock(attempt) if not readonly else nullcontext():
            session = (self._read_sessions if readonly else self._sessions)()
            depth = getattr(self._writing, "depth", 0)
            self._writing.depth = depth + (0 if readonly else 1)
            try:
                yield session
                session.commit()
            except BaseException as exc:
                _quiet_rollback(session)
                if attempt is not None and not attempt.committed and _is_locked(exc):
                    raise WriterBusy() from exc  # BEGIN IMMEDIATE waited its short while: nothing written
                if _is_unavailable(exc):
                    raise StorageUnavailable("the database did not answer") from exc
                raise
            finally:
                self._writing.depth = depth
                session.close()
            if attempt is not None and not readonly:
                attempt.committed = True

    def write_single(self, statement: UpdateBase, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """Run one self-contained write (``INSERT … RETURNING``, ``UPDATE … RETURNING``) in autocommit,
        outside any session: its first returned row, or None. For the hot path only; see
        ``single_statement``. Raises ``StorageUnavailable`` like ``session()``.

        Never inside this thread's open write session: on SQLite that session holds the database's write
        lock, and this statement, on another connection, would wait for it until the busy timeout.
        """
        return self._write(
            lambda: self._compiled(statement, values).run(self.engine, values, self._inline_connection()),
            wrote=lambda row: row is not None,  # RETURNING names every row written: none, nothing written
        )

    def write_then(
        self,
        statement: UpdateBase,
        values: Mapping[str, Any],
        then: Callable[[tuple[Any, ...] | None], tuple[UpdateBase, Mapping[str, Any]] | None],
    ) -> tuple[Any, ...] | None:
        """``write_single`` followed, in the same transaction, by the statement ``then`` builds from its
        returned row (or None for none): both written or neither, one connection, no ORM session.
        The first statement's row."""

        def followup(row: tuple[Any, ...] | None) -> tuple[SingleStatement, Mapping[str, Any]] | None:
            following = then(row)
            if following is None:
                return None
            return self._compiled(following[0], following[1]), following[1]

        return self._write(
            lambda: self._compiled(statement, values).run_then(
                self.engine, values, followup, self._inline_connection()
            )
        )

    def _compiled(self, statement: UpdateBase, values: Mapping[str, Any]) -> SingleStatement:
        key = (statement, tuple(values))
        compiled = self._single_statements.get(key)
        if compiled is None:
            compiled = SingleStatement.compile(statement, self.engine.dialect, key[1])
            self._single_statements[key] = compiled
        return compiled

    def _write(self, write: Callable[[], T], wrote: Callable[[T], bool] = lambda result: True) -> T:
        if getattr(self._writing, "depth", 0):
            raise RuntimeError("write_single inside an open write session would wait for that session")
        attempt: _InlineAttempt | None = getattr(self._inline, "attempt", None)
        try:
            with self._writer_lock(attempt):
                written = write()
        except DBAPIError as exc:
            if attempt is not None and not attempt.committed and _is_locked(exc):
                raise WriterBusy() from exc
            if _is_unavailable(exc):
                raise StorageUnavailable("the database did not answer") from exc
            raise
        if attempt is not None and wrote(written):
            attempt.committed = True
        return written

    @contextmanager
    def _writer_lock(self, attempt: _InlineAttempt | None) -> Iterator[None]:
        """This process's SQLite write lock (nothing on PostgreSQL). An inline attempt that has
        written nothing yet waits for it at most ``INLINE_BUSY_MS``, then hops (``WriterBusy``)."""
        lock = self._write_lock
        if lock is None:
            yield
            return
        if attempt is not None and not attempt.committed:
            if not lock.acquire(timeout=INLINE_BUSY_MS / 1000):
                raise WriterBusy()
        else:
            lock.acquire()
        try:
            yield
        finally:
            lock.release()

    def _busy_timeout_for_caller(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        """On each checkout: a short busy timeout for an inline attempt that has written nothing yet
        (it would rather hop to a thread than stall the event loop), the full one otherwise."""
        attempt: _InlineAttempt | None = getattr(self._inline, "attempt", None)
        wanted = INLINE_BUSY_MS if attempt is not None and not attempt.committed else BUSY_TIMEOUT_MS
        if record.info.get("busy_ms") != wanted:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={wanted}")
            cursor.close()
            record.info["busy_ms"] = wanted

    def _inline_connection(self) -> PoolProxiedConnection | None:
        """Inside ``inline`` (SQLite, the serving loop's thread): the connection this thread keeps for
        its single statements, opened on first use and again after the database dropped it, its busy
        timeout set as a checkout would set it. Elsewhere None: the statement takes one from the pool."""
        if getattr(self._inline, "attempt", None) is None:
            return None
        held: PoolProxiedConnection | None = getattr(self._inline, "connection", None)
        if held is None or not held.is_valid:
            dropped, held = held, self.engine.raw_connection()
            self._inline.connection = held
            with self._held_lock:
                if dropped is not None:  # invalidated: already back in the pool, nothing left to close
                    self._held.remove(dropped)
                self._held.append(held)
        else:
            self._busy_timeout_for_caller(held.driver_connection, held, None)
        return held

    def inline(self, work: Callable[[], T]) -> T:
        """Run ``work`` (database work on SQLite) right here, on the calling thread (the event loop's),
        waiting at most ``INLINE_BUSY_MS`` for another writer's lock. Raises ``WriterBusy`` when it
        met one before committing anything: nothing was written, and the caller runs ``work`` again in
        a worker thread. Once ``work`` has committed, later writes in it wait as in a thread (they
        cannot be undone by starting over); see docs/operations.md."""
        if not self.is_sqlite:
            raise RuntimeError("only SQLite's writes are local enough to run on the event loop")
        outer = getattr(self._inline, "attempt", None)
        self._inline.attempt = attempt = outer or _InlineAttempt()
        try:
            return work()
        except StorageUnavailable as exc:
            if not attempt.committed and _is_locked(exc.__cause__ or exc):
                raise WriterBusy() from exc
            raise
        finally:
            self._inline.attempt = outer

    def run(self, work: Callable[[Session], T], *, attempts: int = 3, backoff: float = 0.2) -> T:
        """Run ``work`` in one transaction, retrying a few times when the database is briefly unreachable."""
        for attempt in range(1, attempts + 1):
            try:
                with self.session() as session:
                    return work(session)
            except StorageUnavailable:
                inline: _InlineAttempt | None = getattr(self._inline, "attempt", None)
                if inline is not None and not inline.committed:
                    raise WriterBusy() from None  # retried, with its pauses, in a worker thread
                if attempt == attempts:
                    raise
                logger.warning("database unavailable (attempt %s of %s); retrying", attempt, attempts)
                time.sleep(backoff * attempt)
        raise AssertionError("unreachable")

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def require_reachable(self) -> None:
        """``ping`` for commands starting up: a database that cannot be opened is ``DatabaseUnusable``,
        one line naming it and why, instead of the driver's traceback."""
        try:
            self.ping()
        except OperationalError as exc:
            raise database_unusable(self.engine.url, exc) from None

    def dispose(self) -> None:
        with self._held_lock:
            held, self._held = self._held, []
        for connection in held:
            if connection.is_valid:
                connection.close()  # back to the pool, which the engine's dispose then closes
        self.engine.dispose()
