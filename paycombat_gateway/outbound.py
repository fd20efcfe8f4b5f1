"""Every outbound call's deadline and answer size, and every peer's share, named in one place.

A deadline here is TOTAL: connecting, sending, waiting for the headers and reading the whole body. A
read timeout alone is not one: a peer that trickles one byte a second never trips it, and would hold
its caller (and whatever that caller holds) for ever. Each answer is also read with a size limit, so a
peer cannot make the app buffer an endless body either.

The figures are what an operator sees in docs/operations.md ("Deadlines and shares"); change them
there too. For the server's own PayCombat calls, ``PAYCOMBAT_CONNECT_TIMEOUT`` can lower a figure's
``connect`` and ``PAYCOMBAT_READ_TIMEOUT`` its ``silence`` (never raising either past the figure); the
``total`` stays as below whatever they say (``gateway.context.PaycombatClients.async_for_config``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import aiohttp
import requests

__all__ = [
    "DNS_LOOKUP_SECONDS",
    "JWKS_FETCH",
    "MAX_JWKS_BYTES",
    "MAX_PAYCOMBAT_ANSWER_BYTES",
    "MAX_SALEOR_ANSWER_BYTES",
    "OUTBOX_LEASE_SECONDS",
    "PAYCOMBAT_BACKGROUND",
    "PAYCOMBAT_IN_WEBHOOK",
    "PAYCOMBAT_LOOKUP_IN_WEBHOOK",
    "PAYCOMBAT_SHARE",
    "PAYCOMBAT_TEST_CONNECTION",
    "PROBLEMS_CHECK_SHARE",
    "SALEOR_DASHBOARD",
    "SALEOR_INSTALL",
    "SALEOR_REPORT",
    "SALEOR_REPORT_BACKLOG",
    "SALEOR_REPORT_SHARE",
    "SALEOR_WEB_SHARE",
    "UNSIGNED_LOOKUPS_AT_ONCE",
    "UNSIGNED_LOOKUPS_PER_SECOND",
    "AnswerTooLarge",
    "Deadline",
    "dns_resolver",
    "environment_proxy",
    "open_session",
    "read_bounded",
    "request_bounded",
]


@dataclass(frozen=True, slots=True)
class Deadline:
    """How long one call may take in all (``total``), to open its connection (``connect``), and at
    most to stay silent while answering (``silence``; the total when None)."""

    total: float
    connect: float
    silence: float | None = None

    def client_timeout(self, *, total: bool = True) -> aiohttp.ClientTimeout:
        """The aiohttp timeout enforcing it: ``total`` covers the body's read too (aiohttp keeps the
        timer running until the answer is read); ``sock_read`` stops a silent peer early. Without
        ``total`` when the caller's own ``asyncio.timeout`` enforces it (one timer per call, not two)."""
        return aiohttp.ClientTimeout(
            total=self.total if total else None,
            connect=self.connect,
            sock_connect=self.connect,
            sock_read=self.silence or self.total,
        )


# --- PayCombat -----------------------------------------------------------------------------------------
# Saleor gives a sync webhook 18 s (20 s for the gateway list) and does not retry it: the app's answer
# must leave room for its own database work and a proper failure result when PayCombat is late.
PAYCOMBAT_IN_WEBHOOK = Deadline(total=10.0, connect=3.0)  # transactionInitialize, refunds, cancels
PAYCOMBAT_LOOKUP_IN_WEBHOOK = Deadline(total=5.0, connect=2.0)  # the one look-up in transactionProcess
PAYCOMBAT_BACKGROUND = Deadline(total=20.0, connect=3.0)  # reconciler look-ups, per attempt
PAYCOMBAT_TEST_CONNECTION = Deadline(total=8.0, connect=3.0)  # the Dashboard's "Test connection"
MAX_PAYCOMBAT_ANSWER_BYTES = 2 * 1024 * 1024  # a page of 20 transactions is a few kB

# --- Saleor --------------------------------------------------------------------------------------------
SALEOR_REPORT = Deadline(total=15.0, connect=3.0)  # one outbox report (transactionEventReport/Update)
SALEOR_INSTALL = Deadline(total=10.0, connect=3.0)  # register: the app id read with the new token
SALEOR_DASHBOARD = Deadline(total=6.0, connect=2.0)  # channel lists and order look-ups for the page
JWKS_FETCH = Deadline(total=5.0, connect=2.0)  # Saleor's signing keys (webhooks, Dashboard tokens)
MAX_SALEOR_ANSWER_BYTES = 2 * 1024 * 1024
MAX_JWKS_BYTES = 64 * 1024  # a key set is a few hundred bytes per key

# --- DNS -----------------------------------------------------------------------------------------------
# A session's look-ups are inside each call's ``connect`` deadline; the API-URL check's has its own.
DNS_LOOKUP_SECONDS = 5.0  # resolving a configuration's PayCombat host before keys may go there


# --- shares: how much of the app one peer may hold at once (``peer_shares``) ------------------------------
# Calls in flight to one configuration's PayCombat, per client (the webhooks' flows). Each client has its
# own connections, so the share bounds what one configuration holds (sockets, buffers), never what
# another may use. 512 carries a checkout rush with PayCombat answering in 1 s (512 initializes a
# second) without queueing Saleor's calls towards their 10 s deadline: at 64, 1,000 shoppers at once
# saw half their initializes run out of time (docs/benchmarks.md, issue 22).
PAYCOMBAT_SHARE = 512
SALEOR_WEB_SHARE = 16  # connections the server opens to one Saleor host (JWKS, install, page reads)
SALEOR_REPORT_SHARE = 16  # payments of one Saleor whose reports one instance delivers at once
SALEOR_REPORT_BACKLOG = 48  # payments of one Saleor one instance holds claimed (running or waiting)
OUTBOX_LEASE_SECONDS = 120.0  # a claimed report's lease: the backlog drains well within it
UNSIGNED_LOOKUPS_AT_ONCE = 2  # Retrieve Payin calls for unsigned deliveries, per configuration
UNSIGNED_LOOKUPS_PER_SECOND = 5.0  # and started per second per configuration; beyond either: 503
PROBLEMS_CHECK_SHARE = 4  # installations the problems check works on at once, per instance
# The reconciler looks up one payment of a configuration at a time, RECONCILE_CALLS_PER_SECOND apart.


def dns_resolver() -> aiohttp.abc.AbstractResolver:
    """How every session of the app resolves names: aiohttp's ``AsyncResolver`` (c-ares, through
    ``aiodns``), awaited on the event loop. aiohttp's default resolver calls ``getaddrinfo`` on asyncio's
    few default executor threads, which a host that resolves slowly (or never) would hold for everyone;
    here a look-up is a coroutine that its call's deadline ends, holding no thread. Call it on the loop
    that will use it (one c-ares channel per loop, shared by its resolvers); a connector given it does
    not close it: its owner does (``await resolver.close()``), after the session."""
    return aiohttp.AsyncResolver()


class _ResolverOwningConnector(aiohttp.TCPConnector):
    """A connector that closes the resolver it was given when it closes (aiohttp's own closes only a
    resolver it made itself), so a session from ``open_session`` is released by closing it alone."""

    def __init__(self, resolver: aiohttp.abc.AbstractResolver, **options: Any) -> None:
        super().__init__(resolver=resolver, **options)
        self._owned_resolver = resolver

    async def close(self, *, abort_ssl: bool = False) -> None:
        try:
            await super().close(abort_ssl=abort_ssl)
        finally:
            await self._owned_resolver.close()


def open_session(*, per_host: int = 0) -> aiohttp.ClientSession:
    """Every aiohttp session the server opens to Saleor: names resolved on the loop (``dns_resolver``),
    at most ``per_host`` connections to one host (0: no limit), closed with ``await session.close()``.
    Call it on the loop that will use it.

    ``trust_env`` stays off: with it aiohttp reads ``~/.netrc`` and would send the credentials it holds
    to any Saleor host that matches. The environment's proxy (``HTTPS_PROXY``, ``NO_PROXY``) still
    applies: ``request_bounded`` passes it per request (``environment_proxy``), as the PayCombat client
    does."""
    return aiohttp.ClientSession(
        connector=_ResolverOwningConnector(dns_resolver(), limit=0, limit_per_host=per_host),
        trust_env=False,
    )


def environment_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url`` (``HTTPS_PROXY``/``HTTP_PROXY``, ``NO_PROXY``
    honoured, read as ``requests`` reads it; no netrc), or None to connect directly."""
    proxy: str | None = requests.utils.get_environ_proxies(url).get(url.split(":", 1)[0].lower())
    return proxy


class AnswerTooLarge(Exception):
    """The peer's answer is longer than the limit this call reads."""


async def request_bounded(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    deadline: Deadline,
    limit: int,
    **options: Any,
) -> tuple[int, bytes]:
    """One request by ``deadline`` (redirects not followed): the status and the whole body, at most
    ``limit`` bytes, through the environment's proxy for ``url`` if it names one. Raises
    ``TimeoutError`` past the deadline, ``aiohttp.ClientError`` or ``AnswerTooLarge`` otherwise."""
    options.setdefault("proxy", environment_proxy(url))
    async with asyncio.timeout(deadline.total):
        async with http.request(
            method, url, timeout=deadline.client_timeout(), allow_redirects=False, **options
        ) as response:
            return response.status, await read_bounded(response, limit)


async def read_bounded(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The whole body of ``response``, refusing one longer than ``limit`` bytes before buffering it."""
    if response.content_length is not None:
        if response.content_length > limit:
            raise AnswerTooLarge(f"the answer announces {response.content_length} bytes (limit {limit})")
        return await response.read()  # at most the announced length: aiohttp reads no further
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise AnswerTooLarge(f"the answer is longer than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
