"""Short blocking work (a database read or write) run off the event loop, in a few worker threads.

The flows that call PayCombat or Saleor are coroutines, so waiting on them holds no thread; what they
still do synchronously is the database work, milliseconds at most, and that runs here. At most
``DB_THREADS`` run at once per event loop: as many as the database pool's steady connections, since a
thread beyond them would only wait for a connection. Dozens of threads doing short writes also cost
more CPU (handing the GIL to each other): one run each on the benchmark's loaded VM gave 2.6 ms of
CPU per verified initialize with 4 threads, 3.0 ms with anyio's default 40. The rest wait as
coroutines, which costs nothing.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from functools import partial
from typing import ParamSpec, TypeVar

from anyio import CapacityLimiter, to_thread

__all__ = ["DB_THREADS", "in_thread", "in_thread_limited"]

P = ParamSpec("P")
T = TypeVar("T")
DB_THREADS = 10  # storage.db's pool_size
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter] = weakref.WeakKeyDictionary()


def _limiter() -> CapacityLimiter:
    """This event loop's limiter (a limiter belongs to the loop it was first used on)."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = CapacityLimiter(DB_THREADS)
    return limiter


async def in_thread(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``function(*args, **kwargs)`` in a worker thread, awaited. Database work only: nothing that
    waits on the network may run here, or it would hold a thread the flows' database work needs."""
    return await to_thread.run_sync(partial(function, *args, **kwargs), limiter=_limiter())


async def in_thread_limited(
    limiter: CapacityLimiter, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """``in_thread`` under a narrower cap of the caller's (PayCombat's webhook route: ``WEBHOOK_CONCURRENCY``)."""
    return await to_thread.run_sync(partial(function, *args, **kwargs), limiter=limiter)
