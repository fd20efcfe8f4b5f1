"""Checkpointing SQLite's write-ahead log from a background thread, so that requests rarely wait for it.

In WAL mode every commit appends pages to the ``-wal`` file; a checkpoint copies them back into the
database file and syncs it. SQLite runs one inside whichever commit pushes the log past 1,000 pages,
while that request holds the process's write lock and every other writer queues behind it (20-30 ms
on the project's VM). The thread below checkpoints every second in PASSIVE mode, which never waits
for, and never blocks, readers or writers: after a quiet moment the log restarts empty, and under
sustained writes the commit that still reaches 1,000 pages finds most of them copied already.

SQLite's own threshold is kept on purpose. Raised to 10,000 pages, requests one at a time waited less
(p99 6-8 ms instead of 11-16), but under sustained writes the log can only restart after a checkpoint
that nothing writes through, so it grew to 40 MB and the commit that reached the threshold stalled
for up to a quarter of a second (docs/benchmarks.md).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError

from paycombat_gateway.storage.db import Database, sqlite_file

__all__ = ["Checkpoint", "WalCheckpointer"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """What one ``PRAGMA wal_checkpoint`` reported."""

    busy: bool  # another checkpoint was running; nothing was done
    log_frames: int  # pages in the write-ahead log (-1 when the database is not in WAL mode)
    checkpointed_frames: int  # of those, now in the database file


class WalCheckpointer:
    """Checkpoints a SQLite database every ``interval_seconds`` while started; on PostgreSQL, nothing."""

    def __init__(self, database: Database, *, interval_seconds: float = 1.0) -> None:
        self._database = database
        self.interval_seconds = interval_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start checkpointing a SQLite file; for in-memory SQLite, PostgreSQL or when running, nothing."""
        if self.running or sqlite_file(self._database.engine.url) is None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="sqlite-checkpointer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread, then checkpoint once more so the log is short for the next start. Call it
        before disposing of the database: a checkpoint after that would open a new pool."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=10)
        self._thread = None
        self._checkpoint_quietly()

    def checkpoint(self) -> Checkpoint:
        """One PASSIVE checkpoint: copy what the log holds into the database file without waiting."""
        connection = self._database.engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
                busy, log_frames, checkpointed = cursor.fetchone() or (0, -1, -1)  # -1: not in WAL mode
            finally:
                cursor.close()
        finally:
            connection.close()
        return Checkpoint(bool(busy), int(log_frames), int(checkpointed))

    def _checkpoint_quietly(self) -> None:
        """A checkpoint whose failure is logged, never raised: the thread must outlive anything (a dead
        checkpointer grows the log), and a shutdown must go on closing."""
        try:
            result = self.checkpoint()
        except (DBAPIError, sqlite3.Error):  # opening a connection (wrapped) or the statement itself
            logger.warning("sqlite checkpoint failed; the next one will catch up", exc_info=True)
            return
        except Exception:
            logger.exception("sqlite checkpointer: unexpected error")
            return
        if result.busy:  # another process's checkpointer was at it: its work counts as well
            logger.debug("sqlite checkpoint skipped: another checkpoint was running")

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            self._checkpoint_quietly()
