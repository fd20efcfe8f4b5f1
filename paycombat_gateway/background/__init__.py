"""The app's background machinery, apart from the payment flows in ``gateway``.

The concurrency model of one app process (docs/operations.md, "Deadlines and shares", has the figures):

- **The serving event loop** (uvicorn's) runs every request. Waiting on a peer (PayCombat, Saleor,
  Saleor's JWKS) is always a coroutine there, ended by the call's deadline (``outbound``); a request's
  database work goes through ``gateway.blocking.in_thread``, the one place that decides where it runs:
  on SQLite inline on the loop (a write meeting a lock leaves the loop within 10 ms and finishes in a
  thread), on PostgreSQL in a worker thread (``DB_THREADS`` per event loop); only database work ever
  runs there. ``/readyz`` checks the database on two threads of its own, so probes never queue behind
  webhook work.
- **The background event loop** (``runner.BackgroundRunner``): one thread, one event loop and one
  aiohttp session for the process's life, hosting the outbox worker (``outbox``), the reconciler
  (``reconciler``), the data-retention pass (``retention``) and the App Problems check (``problems``)
  side by side. Their database work hops through the same ``in_thread`` (always to a thread: only the
  serving loop runs SQLite's inline), on a pool of this loop's own, so background work never takes the
  serving loop's threads.
- **Names are resolved on the loops too** (``outbound.dns_resolver``: c-ares through ``aiodns``), never
  by ``getaddrinfo`` on asyncio's few default executor threads, so a host that resolves slowly holds
  only its own call, until that call's deadline.
- **The WAL checkpointer** (``checkpointer``, SQLite only): a thread of its own, database work only.

Fair shares (``peer_shares``): the outbox delivers each Saleor's reports in a lane of its own (a few
payments at a time, one payment's reports in order), the reconciler looks up each configuration's
payments in a lane of its own (one at a time, paced), the problems check works on a few installations
at once (``PROBLEMS_CHECK_SHARE``), each by its own deadline, and a peer whose lane is full or paused is
left out of the next claim, so a slow Saleor or PayCombat holds only its own share and everyone else's work
goes on beside it.

Arrows point down: this package may import ``gateway``, ``storage``, ``saleor`` and ``paycombat``,
never ``web``; nothing below imports it.
"""
