"""Keeping each Saleor's newest signing keys, fetched once for everyone who needs them.

A request signed with a ``kid`` we do not know may be Saleor after a key rotation or a forger with a
random ``kid``; the two look alike until the keys are fetched. So neither may spoil it for the other:

- a JWKS fetched from the installation's own Saleor is kept (and handed to ``keep`` to be persisted)
  whenever it parses, whatever the request that caused the fetch turns out to be;
- a request whose ``kid`` is in the kept set verifies without another fetch;
- fetches are single-flight per Saleor: whoever arrives while one is running waits for it, and a request
  that arrived after it started waits for the next one, so a fetch that began after the request did
  (and therefore sees a rotation that happened before it) is never more than one fetch away;
- consecutive fetches to one Saleor start at least ``spacing`` seconds apart: forgeries at any rate cost
  Saleor at most one JWKS request per ``spacing``, and they delay, never refuse, a real request.

Everything here runs on the server's event loop: waiting for a fetch (or for the spacing) holds no
thread, so forgeries naming a slow Saleor wait as coroutines and cannot starve anyone else's requests;
each fetch ends by its deadline (``outbound.JWKS_FETCH``), so they never wait longer than that either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from paycombat_gateway.saleor.jws import SignatureVerificationError, has_kid, parse_jwks

__all__ = ["JwksRefresher"]

logger = logging.getLogger(__name__)


@dataclass
class _SaleorKeys:
    jwks: str | None = None
    started: int = 0  # fetches begun so far; fetch number n is the n-th to start
    finished: int = 0  # the number of the last fetch that ended (fetches never overlap)
    fetching: bool = False
    last_start: float = -math.inf


class JwksRefresher:
    """Per process: the newest JWKS fetched from each Saleor, and the single-flight fetch behind it."""

    def __init__(self, spacing: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.spacing = spacing
        self._clock = clock
        self._saleors: dict[str, _SaleorKeys] = {}
        self._changed = asyncio.Condition()  # bound to the event loop that first uses it

    def _state(self, saleor_api_url: str) -> _SaleorKeys:
        return self._saleors.setdefault(saleor_api_url, _SaleorKeys())

    def ticket(self, saleor_api_url: str) -> int:
        """How many fetches had begun when a request arrived: only a later one can show it new keys."""
        return self._state(saleor_api_url).started

    def kept(self, saleor_api_url: str) -> str | None:
        return self._state(saleor_api_url).jwks

    async def jwks_with(
        self,
        saleor_api_url: str,
        kid: str | None,
        *,
        ticket: int,
        fetch: Callable[[], Awaitable[str]],
        keep: Callable[[str], Awaitable[None]],
    ) -> str | None:
        """A JWKS of this Saleor that has ``kid``: the kept one, or the one a fetch begun after ``ticket``
        brought; None when even that has no such key (a forgery, or Saleor could not be reached)."""
        async with self._changed:
            state = self._state(saleor_api_url)
            while not has_kid(state.jwks, kid) and state.finished <= ticket:
                if state.fetching:
                    await self._changed.wait()
                    continue
                wait = state.last_start + self.spacing - self._clock()
                if wait > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), wait)
                    continue
                state.fetching, state.last_start = True, self._clock()
                state.started += 1
                await self._fetch(saleor_api_url, state, state.started, fetch, keep)
            return state.jwks if has_kid(state.jwks, kid) else None

    async def _fetch(
        self,
        saleor_api_url: str,
        state: _SaleorKeys,
        number: int,
        fetch: Callable[[], Awaitable[str]],
        keep: Callable[[str], Awaitable[None]],
    ) -> None:
        """Run fetch ``number`` with the lock released; keep its result if it parses. Called locked."""
        fetched: str | None = None
        self._changed.release()
        try:
            fetched = await fetch()
            parse_jwks(fetched)  # raises unless it is a key set (and caches the parsed keys)
            await keep(fetched)
        except SignatureVerificationError:
            logger.warning("the JWKS fetched from %s is not a key set; keys unchanged", saleor_api_url)
            fetched = None
        except Exception as exc:  # an unreachable Saleor leaves the keys as they were
            if fetched is None:
                logger.warning("could not fetch the JWKS of %s: %s", saleor_api_url, exc)
            else:  # fetched and parsed, but storing it failed: keep it in memory all the same
                logger.warning("could not store the new JWKS of %s: %s", saleor_api_url, exc)
        finally:
            await self._changed.acquire()
            if fetched is not None:
                state.jwks = fetched
            state.fetching, state.finished = False, number
            self._changed.notify_all()
