"""SQLite's database work runs on the event loop (``gateway.blocking``), and a write that meets another
writer's lock leaves the loop within its short bound, finishing in a worker thread, written once."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import column, insert, table, text
from sqlalchemy.pool import QueuePool

from paycombat_gateway.gateway.blocking import in_thread, run_inline_on_this_loop
from paycombat_gateway.storage.db import Database
from tests.support.databases import migrated_database

HELD = 1.0  # seconds another writer holds the lock; the loop may stall 2 x INLINE_BUSY_MS (10 ms) of it


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    database = Database.from_url(f"sqlite:///{tmp_path / 'inline.sqlite3'}")
    with database.session() as session:
        session.execute(text("CREATE TABLE marks (mark TEXT)"))
    yield database
    database.dispose()


def _marks(database: Database) -> list[str]:
    with database.session(readonly=True) as session:
        return [row[0] for row in session.execute(text("SELECT mark FROM marks ORDER BY rowid"))]


def _writer(database: Database, mark: str, threads: list[int]) -> Callable[[], None]:
    def write() -> None:
        threads.append(threading.get_ident())
        with database.session() as session:
            session.execute(text("INSERT INTO marks VALUES (:mark)"), {"mark": mark})

    return write


@contextmanager
def _another_process_writing(database: Database, seconds: float) -> Iterator[threading.Event]:
    """A connection of its own (as another process's would be) holding the write lock for ``seconds``."""
    path = database.engine.url.database
    assert path is not None
    held = threading.Event()

    def hold() -> None:
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(seconds)
        connection.execute("COMMIT")
        connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    try:
        yield held
    finally:
        holder.join()


async def _ticking(during: Callable[[], asyncio.Future[None] | asyncio.Task[None]]) -> list[float]:
    """Tick every 10 ms while ``during`` runs; the tick times."""
    ticks: list[float] = []
    work = during()
    while not work.done():
        ticks.append(time.monotonic())
        await asyncio.sleep(0.01)
    await work
    return ticks


def _longest_gap(ticks: list[float]) -> float:
    return max(b - a for a, b in itertools.pairwise(ticks))


def test_sqlite_work_runs_on_the_loop_when_no_one_else_writes(sqlite_database: Database) -> None:
    threads: list[int] = []

    async def main() -> int:
        run_inline_on_this_loop(sqlite_database)
        await in_thread(_writer(sqlite_database, "inline", threads))
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert threads == [loop_thread]
    assert _marks(sqlite_database) == ["inline"]


def test_a_write_meeting_another_process_lock_finishes_in_a_thread_without_stalling_the_loop(
    sqlite_database: Database,
) -> None:
    threads: list[int] = []

    async def main() -> tuple[int, list[float]]:
        run_inline_on_this_loop(sqlite_database)
        with _another_process_writing(sqlite_database, HELD):
            write = _writer(sqlite_database, "after the lock", threads)
            ticks = await _ticking(lambda: asyncio.ensure_future(in_thread(write)))
        return threading.get_ident(), ticks

    loop_thread, ticks = asyncio.run(main())
    # tried on the loop, met the lock, written once from a worker thread when the lock was released
    assert threads[0] == loop_thread and len(threads) == 2 and threads[1] != loop_thread
    assert _marks(sqlite_database) == ["after the lock"]
    # the loop went on meanwhile (the bound is 10 ms; generous here for a loaded machine)
    assert len(ticks) >= 10 and _longest_gap(ticks) < HELD / 2


def test_a_write_meeting_a_thread_of_this_process_also_leaves_the_loop(sqlite_database: Database) -> None:
    threads: list[int] = []
    holding = threading.Event()

    def slow_write() -> None:
        with sqlite_database.session() as session:  # holds this process's write lock for HELD
            session.execute(text("INSERT INTO marks VALUES ('slow')"))
            holding.set()
            time.sleep(HELD)

    async def main() -> tuple[int, list[float]]:
        run_inline_on_this_loop(sqlite_database)
        holder = threading.Thread(target=slow_write)
        holder.start()
        holding.wait(5)
        write = _writer(sqlite_database, "quick", threads)
        ticks = await _ticking(lambda: asyncio.ensure_future(in_thread(write)))
        holder.join()
        return threading.get_ident(), ticks

    loop_thread, ticks = asyncio.run(main())
    assert threads[0] == loop_thread and len(threads) == 2 and threads[1] != loop_thread
    assert _marks(sqlite_database) == ["slow", "quick"]
    assert len(ticks) >= 10 and _longest_gap(ticks) < HELD / 2


def test_work_that_already_committed_is_not_started_over(sqlite_database: Database) -> None:
    """After a commit, running the work again would write twice: its later writes wait in place."""
    calls: list[int] = []
    released = threading.Event()

    def two_writes() -> None:
        calls.append(threading.get_ident())
        with sqlite_database.session() as session:
            session.execute(text("INSERT INTO marks VALUES ('first')"))
        with _another_process_writing(sqlite_database, 0.3), sqlite_database.session() as session:
            session.execute(text("INSERT INTO marks VALUES ('second')"))  # waited for the other, here
        released.set()

    async def main() -> None:
        run_inline_on_this_loop(sqlite_database)
        await in_thread(two_writes)

    asyncio.run(main())
    assert len(calls) == 1 and released.is_set()
    assert _marks(sqlite_database) == ["first", "second"]


def _insert_mark() -> Any:
    return insert(table("marks", column("mark"))).returning(column("rowid"))


def test_inline_single_statements_keep_one_connection_out_of_the_pool(sqlite_database: Database) -> None:
    """The serving loop's single statements run on the one connection its thread keeps (no pool checkout
    and reset per statement); outside ``inline`` they still borrow from the pool and give it back."""
    statement = _insert_mark()
    pool = sqlite_database.engine.pool
    assert isinstance(pool, QueuePool)
    seen: list[int] = []

    def write(mark: str) -> None:
        sqlite_database.write_single(statement, {"mark": mark})
        held = sqlite_database._inline_connection()
        assert held is not None
        seen.append(id(held.driver_connection))

    for mark in ("a", "b", "c"):
        sqlite_database.inline(lambda mark=mark: write(mark))  # type: ignore[misc]
    assert len(set(seen)) == 1
    assert pool.checkedout() == 1  # the kept one, not one per statement
    sqlite_database.write_single(statement, {"mark": "outside"})
    assert pool.checkedout() == 1
    assert _marks(sqlite_database) == ["a", "b", "c", "outside"]
    sqlite_database.dispose()
    assert pool.checkedout() == 0


def test_a_kept_connection_the_database_dropped_is_replaced(sqlite_database: Database) -> None:
    statement = _insert_mark()
    sqlite_database.inline(lambda: sqlite_database.write_single(statement, {"mark": "before"}))
    first = sqlite_database.inline(sqlite_database._inline_connection)
    assert first is not None
    first.invalidate()  # as a statement that found the connection dropped does
    sqlite_database.inline(lambda: sqlite_database.write_single(statement, {"mark": "after"}))
    second = sqlite_database.inline(sqlite_database._inline_connection)
    assert second is not None and second is not first and second.is_valid
    assert sqlite_database._held == [second]  # the dropped one is not kept
    assert _marks(sqlite_database) == ["before", "after"]


def test_a_single_statement_meeting_another_process_lock_leaves_the_loop(sqlite_database: Database) -> None:
    """The kept connection waits only the inline bound too, then the statement runs in a thread, once."""
    statement = _insert_mark()
    threads: list[int] = []

    def write() -> None:
        threads.append(threading.get_ident())
        sqlite_database.write_single(statement, {"mark": "late"})

    async def main() -> int:
        run_inline_on_this_loop(sqlite_database)
        await in_thread(lambda: sqlite_database.write_single(statement, {"mark": "warm"}))
        with _another_process_writing(sqlite_database, 0.3):
            await in_thread(write)
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert threads[0] == loop_thread and threads[-1] != loop_thread
    assert _marks(sqlite_database) == ["warm", "late"]


@pytest.mark.postgres
def test_postgresql_work_always_hops(tmp_path: Path) -> None:
    """A PostgreSQL statement is a network round trip: never on the loop."""
    with migrated_database("postgresql", tmp_path) as database:
        threads: list[int] = []

        def read() -> None:
            threads.append(threading.get_ident())
            database.ping()

        async def main() -> int:
            run_inline_on_this_loop(database)
            await in_thread(read)
            return threading.get_ident()

        loop_thread = asyncio.run(main())
        assert len(threads) == 1 and threads[0] != loop_thread
        with pytest.raises(RuntimeError):
            database.inline(read)
