"""Short blocking work (a database read or write) run off the event loop, in anyio's worker threads.

The flows that call PayCombat or Saleor are coroutines, so waiting on them holds no thread; what they
still do synchronously is the database work, milliseconds at most, and that runs here. A thread is
held only for those milliseconds, so the pool's 40 threads bound database concurrency, not capacity.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import ParamSpec, TypeVar

from anyio import to_thread

__all__ = ["in_thread"]

P = ParamSpec("P")
T = TypeVar("T")


async def in_thread(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``function(*args, **kwargs)`` in a worker thread, awaited."""
    return await to_thread.run_sync(partial(function, *args, **kwargs))
