"""What the sandbox remembers: checkouts, payins, virtual accounts, customers, payouts, deliveries.

Records are plain JSON-able dicts kept in memory behind a lock, optionally written through to a
SQLite file so a restarted sandbox remembers them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

__all__ = ["SandboxStore"]

KINDS = ("checkout", "payin", "virtual_account", "customer", "payout", "delivery")


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


class SandboxStore:
    def __init__(self, database: str | None = None) -> None:
        self._lock = threading.RLock()
        self._records: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
        self._db: sqlite3.Connection | None = None
        if database:
            self._db = sqlite3.connect(database, check_same_thread=False)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS records (kind TEXT, id TEXT, body TEXT, PRIMARY KEY (kind, id))"
            )
            for kind, record_id, body in self._db.execute("SELECT kind, id, body FROM records"):
                self._records.setdefault(kind, {})[record_id] = json.loads(body, parse_float=Decimal)

    @contextmanager
    def locked(self) -> Iterator[None]:
        with self._lock:
            yield

    def put(self, kind: str, record: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._records[kind][record["id"]] = record
            if self._db is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO records VALUES (?, ?, ?)",
                    (kind, record["id"], json.dumps(record, default=_default)),
                )
                self._db.commit()
            return record

    def get(self, kind: str, record_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._records[kind].get(record_id)

    def all(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._records[kind].values())

    def find(self, kind: str, **match: Any) -> dict[str, Any] | None:
        with self._lock:
            for record in self._records[kind].values():
                if all(record.get(key) == value for key, value in match.items()):
                    return record
        return None

    def count(self, kind: str) -> int:
        with self._lock:
            return len(self._records[kind])
