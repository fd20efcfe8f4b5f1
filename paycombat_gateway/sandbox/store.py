"""What the sandbox remembers: checkouts, payins, virtual accounts, customers, payouts, deliveries.

Records are JSON-able dicts held in memory behind one lock and, when a file is given, written through
to SQLite (stdlib ``sqlite3``) so a restarted sandbox remembers them. ``Decimal`` amounts survive the
round trip exactly. Callers get copies, so a record only changes through ``put``.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

__all__ = ["KINDS", "SandboxStore"]

KINDS = ("checkout", "payin", "virtual_account", "customer", "payout", "delivery")
_DECIMAL_TAG = "__decimal__"


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {_DECIMAL_TAG: str(value)}
    raise TypeError(f"cannot store {type(value).__name__}")


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and _DECIMAL_TAG in obj:
        return Decimal(obj[_DECIMAL_TAG])
    return obj


class SandboxStore:
    """Thread-safe record store: memory, or memory written through to a SQLite file."""

    def __init__(self, database: str | None = None) -> None:
        self._lock = threading.RLock()
        self._records: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
        self._db: sqlite3.Connection | None = None
        self._seq = 0
        # (kind, field) -> field value -> ids, built on first use by ``lookup`` and kept up by ``put``
        self._indexes: dict[tuple[str, str], dict[Any, set[str]]] = {}
        if database:
            self._db = sqlite3.connect(database, check_same_thread=False)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS sandbox_records ("
                " kind TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL,"
                " PRIMARY KEY (kind, id))"
            )
            self._db.commit()
            rows = self._db.execute("SELECT kind, id, body FROM sandbox_records ORDER BY seq")
            for kind, record_id, body in rows:
                if kind in self._records:
                    self._records[kind][record_id] = json.loads(body, object_hook=_decode)
            (self._seq,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM sandbox_records").fetchone()

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store for a read-modify-write that must not interleave with another thread's."""
        with self._lock:
            yield

    def put(self, kind: str, record: dict[str, Any]) -> dict[str, Any]:
        """Insert or replace ``record`` (keyed by its ``id``); returns a copy of what was stored."""
        stored = copy.deepcopy(record)
        with self._lock:
            previous = self._records[kind].get(stored["id"])
            is_new = previous is None
            self._records[kind][stored["id"]] = stored
            for (indexed_kind, key), index in self._indexes.items():
                if indexed_kind == kind:
                    if previous is not None:
                        index.get(previous.get(key), set()).discard(stored["id"])
                    index.setdefault(stored.get(key), set()).add(stored["id"])
            if self._db is not None:
                self._seq += 1
                body = json.dumps(stored, default=_encode, ensure_ascii=False)
                if is_new:
                    self._db.execute(
                        "INSERT INTO sandbox_records (kind, id, seq, body) VALUES (?, ?, ?, ?)",
                        (kind, stored["id"], self._seq, body),
                    )
                else:
                    self._db.execute(
                        "UPDATE sandbox_records SET body = ? WHERE kind = ? AND id = ?",
                        (body, kind, stored["id"]),
                    )
                self._db.commit()
            return copy.deepcopy(stored)

    def get(self, kind: str, record_id: str) -> dict[str, Any] | None:
        with self._lock:
            record = self._records[kind].get(record_id)
            return copy.deepcopy(record) if record is not None else None

    def all(self, kind: str) -> list[dict[str, Any]]:
        """Every record of ``kind``, oldest first."""
        with self._lock:
            return copy.deepcopy(list(self._records[kind].values()))

    def filter(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        """Records of ``kind`` whose fields equal every ``match`` value, oldest first."""
        with self._lock:
            return copy.deepcopy(
                [
                    record
                    for record in self._records[kind].values()
                    if all(record.get(key) == value for key, value in match.items())
                ]
            )

    def lookup(self, kind: str, key: str, value: Any) -> list[dict[str, Any]]:
        """Records of ``kind`` whose ``key`` equals ``value``, in no set order, through an index on ``key``
        (a reconciliation backlog asks for thousands of references; a scan each would be quadratic)."""
        with self._lock:
            index = self._indexes.get((kind, key))
            if index is None:
                index = {}
                for record_id, record in self._records[kind].items():
                    index.setdefault(record.get(key), set()).add(record_id)
                self._indexes[(kind, key)] = index
            records = self._records[kind]
            return copy.deepcopy([records[record_id] for record_id in index.get(value, ())])

    def find(self, kind: str, **match: Any) -> dict[str, Any] | None:
        """The first record of ``kind`` matching ``match``, or None."""
        with self._lock:
            for record in self._records[kind].values():
                if all(record.get(key) == value for key, value in match.items()):
                    return copy.deepcopy(record)
        return None

    def count(self, kind: str) -> int:
        with self._lock:
            return len(self._records[kind])

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
