"""The PayCombat client, one API on two transports: ``PaycombatClient`` (sync, for commands and tests)
and ``AsyncPaycombatClient`` (for the server, so no request holds a thread while PayCombat answers).

One instance per PayCombat configuration, on a pooled ``httpx`` client. Every operation is defined once
in ``calls`` (request and parser) and listed once in ``_Operations``; signing, retries, error types and
the envelope live in ``protocol.Exchange``. Each client only sends what the exchange asks for, so the
two cannot drift. Timeouts default to 3 s to connect and 10 s to read, well inside Saleor's 18 s budget
for a sync webhook. Retries: see ``protocol``.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from collections.abc import Callable, Coroutine
from typing import Any, Generic, ParamSpec, TypeVar, overload

import httpx

from paycombat_gateway.paycombat import calls
from paycombat_gateway.paycombat.calls import Call
from paycombat_gateway.paycombat.contract import DEFAULT_BASE_URL
from paycombat_gateway.paycombat.protocol import Backoff, Exchange

__all__ = ["AsyncPaycombatClient", "PaycombatClient"]

P = ParamSpec("P")
T = TypeVar("T")


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
        retries: int = 2,
        pool_size: int = 10,
    ) -> None:
        self._exchange = Exchange(x_token, signature_key, base_url, retries)
        self.base_url = self._exchange.base_url
        self.timeout = (connect_timeout, read_timeout)
        self._pool_size = pool_size
        self._open(self._http_options())

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def _open(self, options: dict[str, Any]) -> None:
        raise NotImplementedError

    def send(self, call: Call[Any]) -> Any:
        raise NotImplementedError

    def _http_options(self) -> dict[str, Any]:
        """The environment's proxy settings are read here, once, not on every call (``trust_env``:
        ``HTTPS_PROXY``, ``NO_PROXY``, ``SSL_CERT_FILE``); ``REQUESTS_CA_BUNDLE`` and ``CURL_CA_BUNDLE``
        are honoured as before. Connections beyond the kept-alive pool are opened, never waited for:
        a burst of requests must not queue behind ``pool_size`` sockets."""
        connect, read = self.timeout
        ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        return {
            "timeout": httpx.Timeout(connect=connect, read=read, write=connect, pool=connect),
            "limits": httpx.Limits(max_connections=None, max_keepalive_connections=self._pool_size),
            "verify": ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True,
            "trust_env": True,
            "follow_redirects": False,
        }

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

    def _open(self, options: dict[str, Any]) -> None:
        self._http = httpx.Client(**options)

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
                    response = self._http.send(step)
                except httpx.RequestError as exc:
                    step = steps.throw(exc)
                else:
                    step = steps.send(response)
        except StopIteration as done:
            result: T = done.value
            return result

    def close(self) -> None:
        self._http.close()


class AsyncPaycombatClient(_Operations):
    """The same client for an event loop: ``await client.create_payment_request(...)``.

    Its connections belong to the event loop that first used them; build one per loop."""

    _http: httpx.AsyncClient

    def _open(self, options: dict[str, Any]) -> None:
        self._http = httpx.AsyncClient(**options)

    async def send(self, call: Call[T]) -> T:
        """Carry out ``call``: send what the exchange asks for until it has the result."""
        steps = self._exchange.steps(call)
        step = next(steps)
        try:
            while True:
                if isinstance(step, Backoff):
                    await asyncio.sleep(step.seconds)
                    step = steps.send(None)
                    continue
                try:
                    response = await self._http.send(step)
                except httpx.RequestError as exc:
                    step = steps.throw(exc)
                else:
                    step = steps.send(response)
        except StopIteration as done:
            result: T = done.value
            return result

    async def aclose(self) -> None:
        await self._http.aclose()
