"""Fair shares per peer: one Saleor, or one PayCombat configuration, never uses more than its own part
of the app's concurrency, so a slow or hostile one delays only itself.

``Lanes`` runs work for many peers side by side, at most ``per_peer`` items of one peer at a time, in
the order each peer's items came (the outbox keys by Saleor, the reconciler by configuration).
``Pacer`` spaces one peer's calls evenly. ``Admission`` admits at most a few of one peer's calls at
once and refuses the rest at once instead of queueing them (unsigned PayCombat deliveries: a caller
PayCombat will retry, or a forger, gets a 503, never a place in a queue the others wait in).

The figures each user passes are named in ``outbound``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

__all__ = ["Admission", "Lanes", "Pacer"]

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class Pacer:
    """At most ``rate`` calls a second, spaced evenly (one per peer)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._spacing = 1.0 / rate
        self._next = 0.0
        self._clock = clock

    def delay(self) -> float:
        """Take the next slot; how long to wait for it (0 when it is now)."""
        now = self._clock()
        slot = max(now, self._next)
        self._next = slot + self._spacing
        return slot - now

    def next_in(self) -> float:
        """How long until the next free slot, without taking it."""
        return max(0.0, self._next - self._clock())

    async def wait(self) -> None:
        delay = self.delay()
        if delay > 0:
            await asyncio.sleep(delay)


class Lanes(Generic[K, T]):
    """Items of many peers, worked side by side on the running event loop: at most ``per_peer`` items
    of one peer at once, each peer's in the order they were added. ``work(peer, item)`` is awaited for
    each item and must not raise (what it cannot do it records itself). A peer whose lane holds
    ``backlog`` items (running or waiting) is ``full``: its caller stops handing it more."""

    def __init__(self, work: Callable[[K, T], Awaitable[None]], *, per_peer: int, backlog: int) -> None:
        self._work = work
        self.per_peer = per_peer
        self.backlog = max(backlog, per_peer)
        self._waiting: dict[K, deque[T]] = {}
        self._running: dict[K, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    def held(self, peer: K) -> int:
        """Items of ``peer`` running or waiting."""
        return self._running.get(peer, 0) + len(self._waiting.get(peer, ()))

    def rooms(self) -> dict[K, int]:
        """How many more items each peer holding some takes before it is ``full`` (a peer not listed
        takes ``backlog``)."""
        peers = set(self._running) | set(self._waiting)
        return {peer: max(self.backlog - self.held(peer), 0) for peer in peers}

    def full(self) -> set[K]:
        """The peers that take no more items for now."""
        peers = set(self._running) | set(self._waiting)
        return {peer for peer in peers if self.held(peer) >= self.backlog}

    def add(self, peer: K, item: T) -> None:
        """Queue ``item`` behind ``peer``'s others; start it if the peer's share has room."""
        self._waiting.setdefault(peer, deque()).append(item)
        self._idle.clear()
        self._start(peer)

    def _start(self, peer: K) -> None:
        waiting = self._waiting.get(peer)
        while waiting and self._running.get(peer, 0) < self.per_peer:
            item = waiting.popleft()
            self._running[peer] = self._running.get(peer, 0) + 1
            task = asyncio.get_running_loop().create_task(self._run(peer, item))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if waiting is not None and not waiting:
            del self._waiting[peer]

    async def _run(self, peer: K, item: T) -> None:
        try:
            await self._work(peer, item)
        finally:
            self._running[peer] -= 1
            if not self._running[peer]:
                del self._running[peer]
            self._start(peer)
            self._settle()

    def _settle(self) -> None:
        if not self._running and not self._waiting:
            self._idle.set()

    def drop(self, peer: K) -> list[T]:
        """Take ``peer``'s waiting items out of its lane (its running ones finish)."""
        dropped = list(self._waiting.pop(peer, ()))
        self._settle()
        return dropped

    async def drained(self) -> None:
        """Wait until every item added so far has been worked."""
        await self._idle.wait()

    async def cancel(self) -> None:
        """Stop: drop what waits, cancel what runs (its claims run out and are worked again)."""
        self._waiting.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class Admission(Generic[K]):
    """At most ``at_once`` calls per peer at a time, started at most ``per_second`` per peer; a call
    beyond ``at_once``, or whose start would wait more than ``max_wait`` seconds, is refused at once
    (``admitted`` yields False) rather than queued."""

    def __init__(self, *, at_once: int, per_second: float, max_wait: float = 1.0) -> None:
        self._at_once = at_once
        self._per_second = per_second
        self._max_wait = max_wait
        self._in_flight: dict[K, int] = {}
        self._pacers: dict[K, Pacer] = {}

    @asynccontextmanager
    async def admitted(self, peer: K) -> AsyncIterator[bool]:
        pacer = self._pacers.setdefault(peer, Pacer(self._per_second))
        if self._in_flight.get(peer, 0) >= self._at_once or pacer.next_in() > self._max_wait:
            yield False
            return
        self._in_flight[peer] = self._in_flight.get(peer, 0) + 1
        try:
            await pacer.wait()
            yield True
        finally:
            self._in_flight[peer] -= 1
            if not self._in_flight[peer]:
                del self._in_flight[peer]
