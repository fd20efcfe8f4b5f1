"""Fault injection for tests: make matching API calls slow, fail, or answer garbage a number of times."""

from __future__ import annotations

import threading
from dataclasses import dataclass

__all__ = ["Fault", "FaultBook"]


@dataclass
class Fault:
    path_prefix: str
    status: int | None = None
    delay_seconds: float = 0.0
    body: str | None = None
    count: int = 1


class FaultBook:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, path: str) -> Fault | None:
        """The first fault for ``path`` still armed, counting this use."""
        with self._lock:
            for fault in self._faults:
                if path.startswith(fault.path_prefix) and fault.count > 0:
                    fault.count -= 1
                    return fault
        return None
