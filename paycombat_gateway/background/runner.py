"""The process's background event loop: one thread, one loop, one HTTP session, for the process's life.

The outbox worker and the reconciler used to run a thread each, and the outbox opened a new event loop
and a new aiohttp session for every batch, so every report to a real Saleor paid for a new TLS
connection. Here both are coroutines on one long-lived loop, sharing one session whose connections
are kept alive between reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Protocol

import aiohttp

from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.outbound import open_session
from paycombat_gateway.storage.db import StorageUnavailable

__all__ = ["BackgroundRunner", "BackgroundWorker", "Wakeup", "repeat_rounds"]

logger = logging.getLogger(__name__)


class Wakeup:
    """Wakes a worker on the background loop from any thread (a webhook just enqueued a report)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    def bind(self) -> asyncio.Event:
        """Called on the loop that waits: the event ``set`` sets."""
        self._loop, self._event = asyncio.get_running_loop(), asyncio.Event()
        return self._event

    def set(self) -> None:
        loop, event = self._loop, self._event
        if loop is None or event is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            event.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(event.set)


class BackgroundWorker(Protocol):
    name: str

    def prepare(self) -> None:
        """Blocking set-up before the loop starts (e.g. the outbox's instance slot)."""

    async def serve(self, stopping: asyncio.Event, http: aiohttp.ClientSession) -> None:
        """Work until ``stopping`` is set; ``http`` is the loop's one session."""

    def finish(self) -> None:
        """Blocking clean-up after the loop ended."""


async def repeat_rounds(
    name: str,
    one_round: Callable[[], Awaitable[int]],
    *,
    wake: asyncio.Event,
    stopping: asyncio.Event,
    full: int,
    poll_seconds: float,
) -> None:
    """Run ``one_round`` (it returns how many items it took on) until ``stopping``; after a round that
    took fewer than ``full``, wait ``poll_seconds`` or until ``wake``. Outlives any error, because a
    worker that dies silently loses the reports or payments it was for."""
    while not stopping.is_set():
        try:
            taken = await one_round()
        except StorageUnavailable:
            logger.warning("%s: database unavailable; will retry", name)
            taken = 0
        except Exception:  # the worker must survive anything and keep going
            logger.exception("%s: unexpected error", name)
            taken = 0
        if taken < full and not stopping.is_set():
            waits = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stopping.wait())]
            await asyncio.wait(waits, timeout=poll_seconds, return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()
            wake.clear()


class BackgroundRunner:
    """Runs ``workers`` side by side on one event loop in one daemon thread, until ``stop``; at the end
    it closes the PayCombat clients the loop opened through ``ctx`` (None: a worker that uses none)."""

    def __init__(self, ctx: GatewayContext | None, *workers: BackgroundWorker) -> None:
        self.ctx = ctx
        self.workers = workers
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()

    def start(self) -> None:
        if self._thread is not None or not self.workers:
            return
        for worker in self.workers:
            worker.prepare()
        self._thread = threading.Thread(target=self._run, name="background-loop", daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
        # One session for the process's life; its connections to each Saleor are kept alive.
        # Names are resolved on this loop (``open_session``), never on a thread.
        http = open_session()
        self._ready.set()
        try:
            await asyncio.gather(*(worker.serve(self._stopping, http) for worker in self.workers))
        finally:
            await http.close()
            if self.ctx is not None:
                await self.ctx.aclose_loop()  # the PayCombat clients this loop opened

    def stop(self) -> None:
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None
        for worker in self.workers:
            worker.finish()
