"""How a ``Call`` becomes HTTP and back, with no I/O: signing, retries, error types, the envelope.

``Exchange.steps(call)`` is a generator. It yields what the transport must do next (send an
``Outgoing`` request, or wait a ``Backoff``), receives each ``Answer`` (``send``) or ``TransportFailed``
(``throw``), and returns the call's typed result or raises a ``PaycombatError``. The sync and async
clients drive it in a dozen lines each and only translate their library's types to these, so both
share one retry policy and one error mapping, whichever HTTP library carries them.

Retries only where they cannot charge anyone twice: GETs are retried on connection errors, read errors,
429 and 5xx; POST and PATCH only when the connection failed before the request was sent. The waits
follow urllib3's ``Retry(backoff_factor=0.2, backoff_max=2.0)``, which the client used before: none
before the first retry, then 0.4 s, 0.8 s, ... up to 2 s.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Generator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, TypeVar
from urllib.parse import urlencode

from paycombat_gateway.paycombat import errors
from paycombat_gateway.paycombat.calls import Call
from paycombat_gateway.paycombat.signing import sign_body

__all__ = [
    "Answer",
    "Backoff",
    "CallObserver",
    "Exchange",
    "Outgoing",
    "Step",
    "TransportFailed",
    "observe_calls",
]

logger = logging.getLogger("paycombat_gateway.paycombat.client")
T = TypeVar("T")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_FACTOR = 0.2
BACKOFF_MAX = 2.0

CallObserver = Callable[[str], AbstractContextManager[None]]
"""Wraps each call, given its name: it sees how long the call took and how it ended (a ``PaycombatError``
or ``GeneratorExit`` raised through it). The app installs its metrics' (``metrics.observe_paycombat_call``)
at start-up, so this lower layer knows nothing of them."""


def _unobserved(name: str) -> AbstractContextManager[None]:
    return nullcontext()


_observer: CallObserver = _unobserved


def observe_calls(observer: CallObserver) -> None:
    """Install ``observer`` around every PayCombat call from now on, in this process."""
    global _observer
    _observer = observer


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One HTTP request to send as it is: ``content`` is exactly the bytes that were signed."""

    method: str
    url: str  # with its query string
    headers: Mapping[str, str]
    content: bytes | None


@dataclass(frozen=True, slots=True)
class Answer:
    """What PayCombat answered: the status and the raw body."""

    status_code: int
    content: bytes
    charset: str | None = None

    @property
    def text(self) -> str:
        return self.content.decode(self.charset or "utf-8", errors="replace")


class TransportFailed(Exception):
    """The transport got no answer. ``sent`` says whether any of the request may have reached
    PayCombat: when it cannot have (connection refused, DNS, connect timeout), every method may be
    retried; otherwise only a GET."""

    def __init__(
        self, reason: Literal["unreachable", "timeout", "broken"], *, sent: bool, detail: str
    ) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.sent = sent
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Backoff:
    """Wait this long before the next attempt."""

    seconds: float


Step = Outgoing | Backoff
Steps = Generator[Step, Answer | None, T]


def backoff_seconds(failures: int) -> float:
    """The wait before the retry that follows ``failures`` consecutive failures (urllib3's formula)."""
    return 0.0 if failures <= 1 else min(BACKOFF_MAX, BACKOFF_FACTOR * 2 ** (failures - 1))


class Exchange:
    """Everything about talking to PayCombat except the socket: one per client."""

    def __init__(self, x_token: str, signature_key: str, base_url: str, retries: int) -> None:
        if not x_token or not signature_key:
            raise ValueError("PayCombat needs both an X-token and a signature key")
        self._x_token = x_token
        self._signature_key = signature_key
        self.base_url = base_url.rstrip("/")
        self.retries = retries

    def request(self, call: Call[Any]) -> Outgoing:
        """The HTTP request for ``call``, its body signed and sent as exactly the bytes signed."""
        endpoint = call.endpoint
        headers = {"X-token": self._x_token, "Accept": "application/json"}
        payload: bytes | None = None
        if endpoint.signed:
            signed = sign_body(dict(call.body or {}), self._signature_key)
            payload = signed.payload
            headers["signature"] = signed.signature
            headers["Content-Type"] = "application/json"
        query = f"?{urlencode(dict(call.query))}" if call.query else ""
        return Outgoing(endpoint.method, self.base_url + call.url_path() + query, headers, payload)

    def steps(self, call: Call[T]) -> Steps[T]:
        """Drive one call to its result, inside the installed call observer (``observe_calls``); see the
        module docstring for the protocol."""
        with _observer(call.name):
            return (yield from self._steps(call))

    def _steps(self, call: Call[T]) -> Steps[T]:
        request = self.request(call)
        is_get = call.endpoint.method == "GET"
        retries_left = self.retries
        failures = 0
        started = time.perf_counter()
        while True:
            try:
                response = yield request
            except TransportFailed as exc:
                if not (retries_left and (is_get or not exc.sent)):
                    raise _failure(exc, call.name) from None
            else:
                assert response is not None, "the transport sends back the response to each request"
                if not (retries_left and is_get and response.status_code in RETRY_STATUSES):
                    self._log(call, response, started)
                    return self.result(call, response)
            retries_left -= 1
            failures += 1
            if wait := backoff_seconds(failures):
                yield Backoff(wait)

    def _log(self, call: Call[Any], response: Answer, started: float) -> None:
        endpoint = call.endpoint
        logger.info(
            "paycombat %s %s -> %s (%.0f ms)",
            endpoint.method,
            endpoint.path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
            extra={"ctx_endpoint": endpoint.name, "ctx_status": response.status_code},
        )

    def result(self, call: Call[T], response: Answer) -> T:
        """PayCombat's answer as the call's result, or the typed error it amounts to."""
        name = call.name
        try:
            envelope = json.loads(response.content, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            envelope = None
        status = response.status_code
        if status >= 400:
            kind: type[errors.PaycombatError]
            if status in (401, 403):
                kind = errors.AuthenticationError
            elif status == 404:
                kind = errors.NotFoundError
            elif status == 429:
                kind = errors.RateLimitedError
            elif status >= 500:
                kind = errors.ServerError
            else:
                kind = errors.InvalidRequestError
            raise kind(
                f"PayCombat refused {name}",
                http_status=status,
                paycombat_message=self._said(envelope),
                body=self._scrubbed_body(response),
            )
        if not isinstance(envelope, dict) or "status" not in envelope:
            raise errors.MalformedResponseError(
                f"PayCombat answered {name} with something other than its JSON envelope",
                http_status=status,
                body=self._scrubbed_body(response),
            )
        if envelope["status"] is not True:
            raise errors.InvalidRequestError(
                f"PayCombat declined {name}",
                http_status=status,
                paycombat_message=self._said(envelope),
                body=self._scrubbed_body(response),
            )
        return call.parse(envelope.get("data"), name)

    def _secrets(self) -> tuple[str, str]:
        return (self._x_token, self._signature_key)

    def _scrubbed_body(self, response: Answer) -> str:
        """The body an error keeps, secrets removed. Only errors pay for it: decoding the body as text
        means guessing its charset, and the scrub runs regular expressions over it."""
        return errors.scrub(response.text[:4000], self._secrets())

    def _said(self, envelope: Any) -> str | None:
        """PayCombat's ``message``, secrets removed."""
        said = envelope.get("message") if isinstance(envelope, dict) else None
        return errors.scrub(str(said)[:300], self._secrets()) if said is not None else None


def _failure(exc: TransportFailed, name: str) -> errors.PaycombatError:
    """The typed error for a call that got no answer."""
    if exc.reason == "timeout":
        return errors.TimeoutError(f"PayCombat did not answer {name} in time")
    if exc.reason == "unreachable":
        return errors.ConnectionFailed(f"could not reach PayCombat for {name}")
    # A connection cut mid-body, an undecodable body, a broken header: the call failed in transit, and
    # whether PayCombat acted on it is unknown, as with a timeout.
    return errors.ConnectionFailed(f"the exchange with PayCombat for {name} broke off ({exc.detail})")
