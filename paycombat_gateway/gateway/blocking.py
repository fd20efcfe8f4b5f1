"""Short blocking work (a database read or write): where it runs, decided in this one place.

The flows that call PayCombat or Saleor are coroutines, so waiting on them holds no thread; what they
still do synchronously is the database work, and ``in_thread`` is where it goes:

- **SQLite, on a serving loop** (``run_inline_on_this_loop``): right there on the event loop. A write
  is a sub-millisecond local operation (WAL, ``synchronous=NORMAL``: no fsync per commit; the
  checkpointer runs apart), and handing it to a thread cost more than the write itself (issue 22:
  futex calls were 14-17% of the app's CPU, 9-17 context switches per request). A write that meets
  another writer's lock (another process's, or a worker thread's here) waits at most
  ``storage.db.INLINE_BUSY_MS`` on the loop, then runs again in a worker thread (``WriterBusy``:
  nothing was written yet), where it may wait the full busy timeout without stalling anyone.
- **PostgreSQL**, and loops not registered (the background loop, tests driving flows directly): a
  worker thread, because a PostgreSQL statement is a network round trip, and nothing waits on the
  network on the event loop. At most ``DB_THREADS`` run at once per event loop: as many as the
  database pool's steady connections, since a thread beyond them would only wait for a connection.
  Dozens of threads doing short writes also cost more CPU (handing the GIL to each other): one run
  each on the benchmark's loaded VM gave 2.6 ms of CPU per verified initialize with 4 threads, 3.0 ms
  with anyio's default 40. The rest wait as coroutines, which costs nothing.

``in_own_threads`` always hops, to threads of the caller's: ``/readyz`` checks the database there so
a probe answers even while the database is locked or the loop's pool is busy.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from functools import partial
from typing import ParamSpec, TypeVar

from anyio import CapacityLimiter, to_thread

from paycombat_gateway.storage.db import Database, WriterBusy

__all__ = ["DB_THREADS", "in_own_threads", "in_thread", "in_thread_limited", "run_inline_on_this_loop"]

P = ParamSpec("P")
T = TypeVar("T")
DB_THREADS = 10  # storage.db's pool_size
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter] = weakref.WeakKeyDictionary()
_inline: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Database] = weakref.WeakKeyDictionary()


def run_inline_on_this_loop(database: Database) -> None:
    """Let this event loop run ``database``'s work inline when that is SQLite (the serving loop's
    lifespan calls it); on PostgreSQL nothing changes: its work keeps hopping to a thread."""
    if database.is_sqlite:
        _inline[asyncio.get_running_loop()] = database


def _limiter() -> CapacityLimiter:
    """This event loop's limiter (a limiter belongs to the loop it was first used on)."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = CapacityLimiter(DB_THREADS)
    return limiter


async def _run(limiter: CapacityLimiter | None, work: Callable[[], T]) -> T:
    database = _inline.get(asyncio.get_running_loop())
    if database is not None:
        try:
            return database.inline(work)
        except WriterBusy:
            pass  # another writer holds the lock: nothing was written; wait for it in a thread
    return await to_thread.run_sync(work, limiter=limiter or _limiter())


async def in_thread(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``function(*args, **kwargs)``, database work only, run as the module docstring says and awaited.
    Nothing that waits on the network may run here: it might run on the event loop, or hold a thread
    the flows' database work needs."""
    return await _run(None, partial(function, *args, **kwargs))


async def in_thread_limited(
    limiter: CapacityLimiter, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """``in_thread`` under a narrower cap of the caller's when it hops (PayCombat's webhook route:
    ``WEBHOOK_CONCURRENCY``)."""
    return await _run(limiter, partial(function, *args, **kwargs))


async def in_own_threads(
    limiter: CapacityLimiter, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """``function`` always in one of the caller's own threads, never inline (``/readyz``)."""
    return await to_thread.run_sync(partial(function, *args, **kwargs), limiter=limiter)
