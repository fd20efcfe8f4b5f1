"""A receiver on a loopback port that records every request that arrives and answers as told.

Webhooks go to ``url`` (``/hook``) and are kept in ``received``; any other path or method is answered 404
and kept in ``stray``, so a test standing in for an attacker's server can assert that nothing at all
arrived (``everything()``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from paycombat_gateway.background_server import serve_in_thread


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]
    method: str = "POST"
    path: str = "/hook"


@dataclass
class Receiver:
    url: str = ""
    base_url: str = ""
    received: list[Received] = field(default_factory=list)
    stray: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to give, in order; then 200
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def everything(self) -> list[Received]:
        with self._lock:
            return [*self.received, *self.stray]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} deliveries, got {len(self.received)}")


@contextmanager
def run_receiver(statuses: list[int] | None = None) -> Iterator[Receiver]:
    receiver = Receiver(statuses=list(statuses or []))

    async def receive(request: Request) -> Response:
        body = await request.body()
        headers = {key.lower(): value for key, value in request.headers.items()}
        arrived = Received(body, headers, request.method, request.url.path)
        with receiver._lock:
            if (request.method, request.url.path) != ("POST", "/hook"):
                receiver.stray.append(arrived)
                return Response("Not Found", status_code=404)
            receiver.received.append(arrived)
            status = receiver.statuses.pop(0) if receiver.statuses else 200
        return Response("SUCCESS", status_code=status)

    every_method = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    app = Starlette(routes=[Route("/{path:path}", receive, methods=every_method)])
    with serve_in_thread(app) as base_url:
        receiver.base_url = base_url
        receiver.url = f"{base_url}/hook"
        yield receiver
