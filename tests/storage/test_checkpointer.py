"""SQLite's write-ahead log is checkpointed by the app's own thread, not inside a request's commit."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from paycombat_gateway.background.checkpointer import WalCheckpointer
from paycombat_gateway.storage.db import Database, sqlite_file
from paycombat_gateway.storage.secrets import SecretBox
from tests.storage.test_repositories import _setup
from tests.support.databases import migrated_database


def _installations_in_main_file(database_file: Path, tmp_path: Path) -> int:
    """Rows the database file itself holds, without its log: what a checkpoint has copied back."""
    copy = tmp_path / "main-file-only.sqlite3"
    shutil.copyfile(database_file, copy)
    with sqlite3.connect(copy) as connection:
        return int(connection.execute("SELECT count(*) FROM installations").fetchone()[0])


def _database_file(database: Database) -> Path:
    assert database.engine.url.database is not None
    return Path(database.engine.url.database)


def test_a_checkpoint_copies_the_log_into_the_database_file(tmp_path: Path) -> None:
    with migrated_database("sqlite", tmp_path) as database:
        WalCheckpointer(database).checkpoint()  # the migrations' pages
        _setup(database, SecretBox(["a-test-passphrase-that-is-long-enough"]))
        assert _installations_in_main_file(_database_file(database), tmp_path) == 0  # only in the log

        result = WalCheckpointer(database).checkpoint()

        assert not result.busy and result.log_frames > 0
        assert result.checkpointed_frames == result.log_frames
        assert _installations_in_main_file(_database_file(database), tmp_path) == 1


def test_the_thread_checkpoints_unasked_and_stops(tmp_path: Path) -> None:
    with migrated_database("sqlite", tmp_path) as database:
        checkpointer = WalCheckpointer(database, interval_seconds=0.05)
        checkpointer.checkpoint()
        checkpointer.start()
        assert checkpointer.running
        _setup(database, SecretBox(["a-test-passphrase-that-is-long-enough"]))
        deadline = time.monotonic() + 5
        while _installations_in_main_file(_database_file(database), tmp_path) == 0:
            assert time.monotonic() < deadline, "the thread never checkpointed"
            time.sleep(0.05)
        checkpointer.stop()
        assert not checkpointer.running


def _block_the_file(database: Database) -> None:
    """Put a directory where the database file was, so no connection can open or recreate it. The
    running thread may recreate the file between the unlink and the mkdir: then try again. The pool
    is emptied afterwards, so no connection still holds the unlinked file open."""
    path = _database_file(database)
    while True:
        database.engine.dispose()
        path.unlink(missing_ok=True)
        try:
            path.mkdir()
            break
        except FileExistsError:
            continue
    database.engine.dispose()


def test_the_thread_survives_a_failed_checkpoint(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with migrated_database("sqlite", tmp_path) as database:
        checkpointer = WalCheckpointer(database, interval_seconds=0.02)
        checkpointer.start()
        _block_the_file(database)  # every checkpoint now fails
        deadline = time.monotonic() + 5
        while "sqlite checkpoint failed" not in caplog.text:
            assert time.monotonic() < deadline, "no checkpoint failed"
            time.sleep(0.02)
        time.sleep(0.1)  # more attempts, still failing
        assert checkpointer.running
        _database_file(database).rmdir()
        checkpointer.stop()


@pytest.mark.postgres
def test_postgresql_needs_no_thread(tmp_path: Path) -> None:
    with migrated_database("postgresql", tmp_path) as database:
        checkpointer = WalCheckpointer(database)
        checkpointer.start()
        assert not checkpointer.running
        checkpointer.stop()


def checkpointer_threads() -> int:
    return sum(1 for thread in threading.enumerate() if thread.name == "sqlite-checkpointer")


def test_starting_twice_runs_one_thread(tmp_path: Path) -> None:
    with migrated_database("sqlite", tmp_path) as database:
        before = checkpointer_threads()
        checkpointer = WalCheckpointer(database)
        checkpointer.start()
        checkpointer.start()
        assert checkpointer_threads() == before + 1
        checkpointer.stop()
        checkpointer.stop()
        assert checkpointer_threads() == before


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///data/app.sqlite3", Path("data/app.sqlite3")),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///file:shared?mode=memory&uri=true", None),
        ("postgresql+psycopg://localhost/test", None),
    ],
)
def test_only_a_sqlite_file_is_checkpointed(url: str, expected: Path | None) -> None:
    assert sqlite_file(url) == expected
    if url in ("sqlite://", "sqlite:///:memory:"):  # start() asks sqlite_file, as for the others
        checkpointer = WalCheckpointer(Database.from_url(url))
        checkpointer.start()
        assert not checkpointer.running
