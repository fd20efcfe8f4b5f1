"""The PayCombat client, one API on two transports: ``PaycombatClient`` (sync, for commands and tests)
and ``AsyncPaycombatClient`` (for the server, so no request holds a thread while PayCombat answers).

One instance per PayCombat configuration, on a pooled connection. Every operation is defined once in
``calls`` (request and parser) and listed once in ``_Operations``; signing, retries, error types and the
envelope live in ``protocol.Exchange``. Each client only sends what the exchange asks for, so the two
cannot drift. The async client (the server's) ends every call by a total deadline
(``outbound.Deadline``: all attempts and the whole answer, read with a size limit), so a PayCombat that
trickles its answer cannot outlast Saleor's 18 s; the sync client (commands) times out per read.
Retries: see ``protocol``.

The sync client is on ``requests`` (the project's library wherever a command or the sandbox waits:
the Saleor client, registration, JWKS); the async one on ``aiohttp``. Measured on this project's 2-core
VM, 200 calls at once to a PayCombat answering in 1 s: ``httpx.AsyncClient`` spent 3.1-3.7 ms of CPU
per call and managed 65-105 calls/s, ``aiohttp`` 0.5 ms and 177 calls/s, hence no third library. vcrpy
records and replays both, from the same cassettes.
"""

from __future__ import annotations

import asyncio
import email.message
import os
import ssl
import time
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Generic, ParamSpec, TypeVar, overload

import aiohttp
import requests
import requests.adapters
import requests.utils
import urllib3.exceptions
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

    _http: requests.Session

    def _open(self) -> None:
        """The environment is read here, once, not on every call, and by ``requests`` itself: the proxy
        for PayCombat's URL (``HTTPS_PROXY``, ``NO_PROXY``) and the CA bundle (``REQUESTS_CA_BUNDLE``,
        ``CURL_CA_BUNDLE``); no netrc. ``pool_size`` connections are kept alive; beyond them more are
        opened, never waited for. ``requests`` never retries here: ``protocol.Exchange`` decides."""
        session = requests.Session()
        environment = session.merge_environment_settings(self.base_url, {}, None, None, None)
        session.trust_env = False  # what it said is kept below; no per-call reading, no netrc
        session.proxies = environment["proxies"]
        session.verify = environment["verify"]
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=self._pool_size, max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        self._http = session

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
        try:
            response = self._http.request(
                outgoing.method,
                outgoing.url,
                headers=dict(outgoing.headers),
                data=outgoing.content,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise _transport_failure(exc) from None
        return Answer(response.status_code, response.content, _declared_charset(response.headers))

    def close(self) -> None:
        self._http.close()


def _transport_failure(exc: requests.RequestException) -> TransportFailed:
    """What a ``requests`` failure means for retrying: whether any of the request can have reached
    PayCombat. ``requests`` reports a refused connection and a read timeout while reading the body as
    ``ConnectionError`` too, so the urllib3 error it wraps decides."""
    detail = type(exc).__name__
    cause = exc.args[0] if exc.args else None
    if isinstance(cause, urllib3.exceptions.MaxRetryError):
        cause = cause.reason
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return TransportFailed("timeout", sent=False, detail=detail)
    if isinstance(exc, requests.exceptions.Timeout) or isinstance(cause, urllib3.exceptions.ReadTimeoutError):
        return TransportFailed("timeout", sent=True, detail=detail)
    if isinstance(exc, requests.exceptions.ProxyError | requests.exceptions.SSLError) or isinstance(
        cause, urllib3.exceptions.NewConnectionError
    ):
        return TransportFailed("unreachable", sent=False, detail=detail)
    return TransportFailed("broken", sent=True, detail=detail)


def _declared_charset(headers: Mapping[str, str]) -> str | None:
    """The charset the answer's Content-Type names, or None (``requests`` would guess ISO-8859-1 for
    text/*; the exchange decides what an undeclared body means)."""
    message = email.message.Message()
    message["content-type"] = headers.get("content-type", "")
    charset = message.get_content_charset()
    return charset


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
                # the total is ``send``'s own timer, over every attempt; aiohttp keeps the connect
                # and silence limits (a connect timeout means the request was not sent)
                timeout=self.deadline.client_timeout(total=False),
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
