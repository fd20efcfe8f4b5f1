"""The PayCombat client, one API on two transports: ``PaycombatClient`` (sync, for commands and tests)
and ``AsyncPaycombatClient`` (for the server, so no request holds a thread while PayCombat answers).

One instance per PayCombat configuration, on a pooled connection. Every operation is defined once in
``calls`` (request and parser) and listed once in ``_Operations``; signing, retries, error types and the
envelope live in ``protocol.Exchange``. Each client only sends what the exchange asks for, so the two
cannot drift. The async client (the server's) ends every call by a total deadline
(``outbound.Deadline``: all attempts and the whole answer, read with a size limit), so a PayCombat that
trickles its answer cannot outlast Saleor's 18 s; the sync client (commands) times out per read.
Retries: see ``protocol``.

The sync client is on ``httpx``; the async one on ``aiohttp``. Measured on this project's 2-core VM,
200 calls at once to a PayCombat answering in 1 s: ``httpx.AsyncClient`` spent 3.1-3.7 ms of CPU per
call (its connection pool does work for every waiting request on each event; with 300 kept-alive
connections, 18 ms) and managed 65-105 calls/s, ``aiohttp`` 0.5 ms and 177 calls/s. vcrpy records
and replays both, from the same cassettes.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from collections.abc import Callable, Coroutine
from typing import Any, Generic, ParamSpec, TypeVar, overload

import aiohttp
import httpx
import requests.utils
import yarl

from paycombat_gateway.outbound import (
    MAX_PAYCOMBAT_ANSWER_BYTES,
    PAYCOMBAT_IN_WEBHOOK,
    AnswerTooLarge,
    Deadline,
    read_bounded,
)
from paycombat_gateway.paycombat import calls, errors
from paycombat_gateway.paycombat.calls import Call
from paycombat_gateway.paycombat.contract import DEFAULT_BASE_URL
from paycombat_gateway.paycombat.protocol import Answer, Backoff, Exchange, Outgoing, TransportFailed

__all__ = ["DEFAULT_RETRIES", "AsyncPaycombatClient", "PaycombatClient"]

P = ParamSpec("P")
T = TypeVar("T")


DEFAULT_RETRIES = 2  # attempts after the first, where retrying is safe (see protocol.Exchange)


class Operation(Generic[P, T]):
    """One PayCombat operation as a method of both clients: ``client.name(...)`` sends
    ``calls.name(...)``, answering ``T`` on the sync client and an awaitable ``T`` on the async one."""

    def __init__(self, build: Callable[P, Call[T]]) -> None:
        self._build = build
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, client: None, owner: type[Any]) -> Operation[P, T]: ...
    @overload
    def __get__(self, client: PaycombatClient, owner: type[Any]) -> Callable[P, T]: ...
    @overload
    def __get__(
        self, client: AsyncPaycombatClient, owner: type[Any]
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...
    def __get__(self, client: _Operations | None, owner: type[Any]) -> Any:
        if client is None:
            return self
        build, send = self._build, client.send

        def operation(*args: P.args, **kwargs: P.kwargs) -> Any:
            return send(build(*args, **kwargs))

        return operation


class _Operations:
    """The operations both clients offer, and what they share: the exchange and the HTTP options."""

    def __init__(
        self,
        x_token: str,
        signature_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        retries: int = DEFAULT_RETRIES,
        pool_size: int = 10,
    ) -> None:
        self._exchange = Exchange(x_token, signature_key, base_url, retries)
        self.base_url = self._exchange.base_url
        self.timeout = (connect_timeout, read_timeout)
        self._pool_size = pool_size
        self._open()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def _open(self) -> None:
        raise NotImplementedError

    def send(self, call: Call[Any]) -> Any:
        raise NotImplementedError

    def _ssl_context(self) -> ssl.SSLContext | None:
        """``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` when set, as before; else the library's own."""
        ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        return ssl.create_default_context(cafile=ca_bundle) if ca_bundle else None

    # --- checkout -------------------------------------------------------------------------------
    create_payment_request = Operation(calls.create_payment_request)
    create_new_checkout = Operation(calls.create_new_checkout)
    get_detail_checkout = Operation(calls.get_detail_checkout)
    get_all_checkout = Operation(calls.get_all_checkout)
    cancel_checkout = Operation(calls.cancel_checkout)
    create_virtual_account_krw = Operation(calls.create_virtual_account_krw)
    get_va_bank_information_krw = Operation(calls.get_va_bank_information_krw)
    # --- payin ----------------------------------------------------------------------------------
    create_payin = Operation(calls.create_payin)
    retrieve_payin = Operation(calls.retrieve_payin)
    create_virtual_account = Operation(calls.create_virtual_account)
    get_all_payin_method = Operation(calls.get_all_payin_method)
    get_list_payment_method_by_currency = Operation(calls.get_list_payment_method_by_currency)
    get_required_fields_by_payin_method = Operation(calls.get_required_fields_by_payin_method)
    # --- transaction ----------------------------------------------------------------------------
    get_all_transaction = Operation(calls.get_all_transaction)
    find_transaction_by_id = Operation(calls.find_transaction_by_id)
    # --- customer, payout, merchant -----------------------------------------------------------
    create_customer = Operation(calls.create_customer)
    update_customer = Operation(calls.update_customer)
    create_payout = Operation(calls.create_payout)
    get_balance_payout = Operation(calls.get_balance_payout)


class PaycombatClient(_Operations):
    """A typed client of PayCombat's API for one merchant key pair; blocking calls."""

    _http: httpx.Client

    def _open(self) -> None:
        """The environment's proxy settings are read here, once, not on every call (``trust_env``:
        ``HTTPS_PROXY``, ``NO_PROXY``, ``SSL_CERT_FILE``; no netrc). Connections beyond the kept-alive
        pool are opened, never waited for."""
        connect, read = self.timeout
        self._http = httpx.Client(
            timeout=httpx.Timeout(connect=connect, read=read, write=connect, pool=connect),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=self._pool_size),
            verify=self._ssl_context() or True,
            trust_env=True,
            follow_redirects=False,
        )

    def send(self, call: Call[T]) -> T:
        """Carry out ``call``: send what the exchange asks for until it has the result."""
        steps = self._exchange.steps(call)
        step = next(steps)
        try:
            while True:
                if isinstance(step, Backoff):
                    time.sleep(step.seconds)
                    step = steps.send(None)
                    continue
                try:
                    answer = self._exchange_once(step)
                except TransportFailed as failed:
                    step = steps.throw(failed)
                else:
                    step = steps.send(answer)
        except StopIteration as done:
            result: T = done.value
            return result

    def _exchange_once(self, outgoing: Outgoing) -> Answer:
        request = self._http.build_request(
            outgoing.method, outgoing.url, headers=dict(outgoing.headers), content=outgoing.content
        )
        try:
            response = self._http.send(request)
        except httpx.ConnectTimeout:
            raise TransportFailed("timeout", sent=False, detail="ConnectTimeout") from None
        except (httpx.ConnectError, httpx.ProxyError) as exc:
            raise TransportFailed("unreachable", sent=False, detail=type(exc).__name__) from None
        except httpx.TimeoutException as exc:
            raise TransportFailed("timeout", sent=True, detail=type(exc).__name__) from None
        except httpx.RequestError as exc:
            raise TransportFailed("broken", sent=True, detail=type(exc).__name__) from None
        return Answer(response.status_code, response.content, response.charset_encoding)

    def close(self) -> None:
        self._http.close()


class AsyncPaycombatClient(_Operations):
    """The same client for an event loop: ``await client.create_payment_request(...)``.

    Its connections belong to the event loop that first used them; build one per loop. The
    environment's proxy for PayCombat's URL (``HTTPS_PROXY``, ``NO_PROXY``) is read once, here.

    Every call ends by its ``deadline`` (``outbound.Deadline``): all its attempts, back-offs and the
    whole of each answer, read with a size limit; a call still running then fails with
    ``errors.TimeoutError``. ``connections`` bounds the calls in flight at once: one configuration's
    share (the client is per configuration), so a slow PayCombat account holds at most that many; a
    call waiting for a free connection waits inside its deadline."""

    _session: aiohttp.ClientSession | None

    def __init__(
        self,
        x_token: str,
        signature_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        deadline: Deadline = PAYCOMBAT_IN_WEBHOOK,
        connections: int = 0,
        retries: int = DEFAULT_RETRIES,
    ) -> None:
        self.deadline = deadline
        self._connections = connections
        super().__init__(
            x_token,
            signature_key,
            base_url,
            connect_timeout=deadline.connect,
            read_timeout=deadline.total,
            retries=retries,
        )

    def _open(self) -> None:
        self._session = None
        scheme = yarl.URL(self.base_url).scheme
        self._proxy = requests.utils.get_environ_proxies(self.base_url).get(scheme)

    def _connected(self) -> aiohttp.ClientSession:
        """The pooled session, opened on first use, inside the event loop that will use it."""
        if self._session is None:
            ssl_context = self._ssl_context()
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._connections,
                    keepalive_timeout=15,
                    ssl=ssl_context if ssl_context is not None else True,
                ),
                timeout=self.deadline.client_timeout(),
                trust_env=False,  # the proxy was read once, above; no netrc
                auto_decompress=True,
            )
        return self._session

    async def send(self, call: Call[T]) -> T:
        """Carry out ``call`` within the deadline, or raise ``errors.TimeoutError``."""
        try:
            async with asyncio.timeout(self.deadline.total):
                return await self._send(call)
        except TimeoutError:
            raise errors.TimeoutError(
                f"PayCombat did not answer {call.name} within {self.deadline.total:g} s"
            ) from None

    async def _send(self, call: Call[T]) -> T:
        """Send what the exchange asks for until it has the result."""
        steps = self._exchange.steps(call)
        step = next(steps)
        try:
            while True:
                if isinstance(step, Backoff):
                    await asyncio.sleep(step.seconds)
                    step = steps.send(None)
                    continue
                try:
                    answer = await self._exchange_once(step)
                except TransportFailed as failed:
                    step = steps.throw(failed)
                else:
                    step = steps.send(answer)
        except StopIteration as done:
            result: T = done.value
            return result

    async def _exchange_once(self, outgoing: Outgoing) -> Answer:
        session = self._connected()
        try:
            async with session.request(
                outgoing.method,
                yarl.URL(outgoing.url, encoded=True),
                headers=dict(outgoing.headers),
                data=outgoing.content,
                proxy=self._proxy,
                allow_redirects=False,
            ) as response:
                body = await read_bounded(response, MAX_PAYCOMBAT_ANSWER_BYTES)
                return Answer(response.status, body, response.charset)
        except AnswerTooLarge as exc:
            raise TransportFailed("broken", sent=True, detail=str(exc)) from None
        except aiohttp.ConnectionTimeoutError:
            raise TransportFailed("timeout", sent=False, detail="ConnectionTimeoutError") from None
        except (aiohttp.ClientConnectorError, aiohttp.ClientProxyConnectionError) as exc:
            raise TransportFailed("unreachable", sent=False, detail=type(exc).__name__) from None
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise TransportFailed("timeout", sent=True, detail=type(exc).__name__) from None
        except aiohttp.ClientError as exc:
            raise TransportFailed("broken", sent=True, detail=type(exc).__name__) from None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
