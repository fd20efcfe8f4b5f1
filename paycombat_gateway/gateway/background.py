"""The loop the app's background workers share (outbox, reconciler): one daemon thread per worker
that runs a round of work again and again, pausing when a round found less than a full batch, and
outliving any error, because a worker that dies silently loses the reports or payments it was for."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from paycombat_gateway.storage.db import StorageUnavailable

__all__ = ["BackgroundLoop"]

logger = logging.getLogger(__name__)


class BackgroundLoop:
    """Runs ``work`` (it returns how many items it handled) until stopped; waits ``poll_seconds``
    after a round that handled fewer than ``batch``, or until ``notify`` wakes it early."""

    def __init__(self, name: str, work: Callable[[], int], *, batch: int, poll_seconds: float) -> None:
        self.name = name
        self._work = work
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def notify(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                worked = self._work()
            except StorageUnavailable:
                logger.warning("%s: database unavailable; will retry", self.name)
                worked = 0
            except Exception:  # the worker must survive anything and keep going
                logger.exception("%s: unexpected error", self.name)
                worked = 0
            if worked < self.batch:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
