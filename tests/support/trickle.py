"""Trickling peers: an answer that starts at once and then sends one byte every half second, for
minutes. A read timeout never fires on it; only a total deadline ends it.

``Trickles`` records when each trickled answer started and ended (its client gave up), so a test can
assert the order of events: another tenant was served while this peer was still trickling.
``run_trickling_paycombat`` is a PayCombat that trickles every answer.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from paycombat_gateway.background_server import serve_in_thread

TRICKLE_EVERY = 0.5  # seconds between two bytes
TRICKLE_FOR = 120.0  # then the answer ends (still not valid): longer than any deadline


@dataclass
class Trickles:
    """Every trickled answer: (what, started, ended or None while it still trickles), by monotonic time."""

    answers: list[list[object]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def response(self, what: str, content_type: str = "application/json") -> Response:
        return StreamingResponse(self._drip(what), media_type=content_type)

    async def _drip(self, what: str) -> AsyncIterator[bytes]:
        record: list[object] = [what, time.monotonic(), None]
        with self._lock:
            self.answers.append(record)
        try:
            deadline = time.monotonic() + TRICKLE_FOR
            while time.monotonic() < deadline:
                yield b" "
                await asyncio.sleep(TRICKLE_EVERY)
        finally:
            record[2] = time.monotonic()

    def started(self, what: str | None = None) -> int:
        with self._lock:
            return sum(1 for w, _, _ in self.answers if what in (None, w))

    def open(self, what: str | None = None) -> int:
        """How many answers are trickling right now."""
        with self._lock:
            return sum(1 for w, _, end in self.answers if what in (None, w) and end is None)

    def durations(self, what: str | None = None) -> list[float]:
        """How long each ended answer trickled before its client gave up."""
        with self._lock:
            return [
                float(end) - float(start)  # type: ignore[arg-type]
                for w, start, end in self.answers
                if what in (None, w) and end is not None
            ]


@dataclass
class TricklingPaycombat:
    base_url: str
    trickles: Trickles


@contextmanager
def run_trickling_paycombat() -> Iterator[TricklingPaycombat]:
    """A PayCombat whose every answer trickles (200, headers at once, then a byte every half second)."""
    trickles = Trickles()

    async def anything(request: Request) -> Response:
        await request.body()
        return trickles.response(f"{request.method} {request.url.path}")

    app = Starlette(
        routes=[Route("/{path:path}", anything, methods=["GET", "POST", "PATCH", "PUT", "DELETE"])]
    )
    with serve_in_thread(app) as base_url:
        yield TricklingPaycombat(base_url, trickles)
