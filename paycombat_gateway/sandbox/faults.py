"""Fault injection for tests: make matching requests slow, fail, or answer garbage a number of times.

A fault matches requests whose path starts with its ``path_prefix`` (any path but the sandbox's own
``/_sandbox/`` API). The request body is read first, so a delayed request has fully "reached PayCombat"
before it stalls, as a slow server would have it. Then, after ``delay_seconds``:

- with a ``status`` or ``body`` the fault answers instead of the sandbox (nothing is processed or
  stored): ``body`` verbatim, or PayCombat's error envelope for a status of 400 or more;
- with neither, the request goes on to be served normally (a slow but successful answer).
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paycombat_gateway.paycombat.signing import js_stringify
from paycombat_gateway.sandbox.errors import SandboxError

__all__ = ["Fault", "FaultBook", "FaultMiddleware", "WebhookDrops", "parse_fault"]

SANDBOX_PREFIX = "/_sandbox/"
MAX_DELAY_SECONDS = 30.0


@dataclass
class Fault:
    path_prefix: str
    status: int | None = None
    delay_seconds: float = 0.0
    body: str | None = None
    count: int = 1
    content_type: str = "application/json"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_fault(spec: Any) -> Fault:
    """A ``Fault`` from the JSON of ``POST /_sandbox/faults``; 422 with the reason when it is not one."""
    if not isinstance(spec, dict):
        raise SandboxError(422, "a fault is a JSON object")
    prefix = spec.get("path_prefix")
    if not isinstance(prefix, str) or not prefix.startswith("/") or prefix.startswith(SANDBOX_PREFIX):
        raise SandboxError(422, "path_prefix must be a path starting with / (not /_sandbox/)")
    status = spec.get("status")
    if status is not None and (
        isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599
    ):
        raise SandboxError(422, "status must be an HTTP status code (100-599) or null")
    delay = spec.get("delay_seconds", 0) or 0
    if (
        isinstance(delay, bool)
        or not isinstance(delay, int | float | Decimal)
        or not 0 <= delay <= MAX_DELAY_SECONDS
    ):
        raise SandboxError(422, f"delay_seconds must be a number from 0 to {MAX_DELAY_SECONDS:g}")
    body = spec.get("body")
    if body is not None and not isinstance(body, str):
        raise SandboxError(422, "body must be a string (the raw text to answer) or null")
    count = spec.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise SandboxError(422, "count must be a whole number of at least 1")
    content_type = spec.get("content_type") or "application/json"
    if not isinstance(content_type, str):
        raise SandboxError(422, "content_type must be a string")
    if status is None and body is None and not delay:
        raise SandboxError(422, "a fault needs a status, a body or a delay")
    return Fault(prefix, status, float(delay), body, count, content_type)


class FaultBook:
    """The armed faults; each use of a fault counts down its ``count``."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def armed(self) -> list[Fault]:
        with self._lock:
            return [Fault(**fault.to_dict()) for fault in self._faults]

    def take(self, path: str) -> Fault | None:
        """The first armed fault for ``path``, counting this use (spent faults are dropped)."""
        with self._lock:
            for fault in self._faults:
                if path.startswith(fault.path_prefix):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return Fault(**fault.to_dict())
        return None


def fault_response(fault: Fault) -> Response | None:
    """What a fault answers instead of the sandbox, or None when it only delays."""
    if fault.body is not None:
        return Response(fault.body, status_code=fault.status or 200, media_type=fault.content_type)
    if fault.status is None:
        return None
    content = (
        js_stringify({"status": False, "message": f"Injected fault: HTTP {fault.status}"})
        if fault.status >= 400
        else ""
    )
    return Response(content, status_code=fault.status, media_type="application/json")


class FaultMiddleware:
    """ASGI middleware applying the ``FaultBook`` to every request outside ``/_sandbox/``."""

    def __init__(self, app: ASGIApp, faults: FaultBook) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(SANDBOX_PREFIX):
            await self.app(scope, receive, send)
            return
        fault = self.faults.take(scope["path"])
        if fault is None:
            await self.app(scope, receive, send)
            return
        buffered: list[Message] = []
        while True:  # the whole request first: it has reached "PayCombat" before the stall
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        if fault.delay_seconds:
            await asyncio.sleep(fault.delay_seconds)
        response = fault_response(fault)
        if response is not None:
            await response(scope, receive, send)
            return

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)


class WebhookDrops:
    """Webhooks that never leave: every one for some accounts, and/or the next N of any account.

    What a firewall, a changed ``APP_URL`` or a proxy in front of the app does to PayCombat's deliveries,
    so tests and merchants can watch reconciliation find the payments anyway. A dropped delivery is
    kept, marked ``dropped``, and can be sent late with ``release``.
    """

    def __init__(self) -> None:
        self._accounts: set[str] = set()
        self._next = 0
        self._lock = threading.Lock()

    def drop_account(self, merchant_id: str) -> None:
        with self._lock:
            self._accounts.add(merchant_id)

    def drop_next(self, count: int) -> None:
        with self._lock:
            self._next += count

    def clear(self) -> None:
        with self._lock:
            self._accounts.clear()
            self._next = 0

    def take(self, merchant_id: str) -> bool:
        """Whether the delivery about to be made for ``merchant_id`` is dropped (counting it)."""
        with self._lock:
            if merchant_id in self._accounts:
                return True
            if self._next > 0:
                self._next -= 1
                return True
            return False

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {"accounts": sorted(self._accounts), "next": self._next}
