"""A receiver on a loopback port that records every request that arrives and answers as told.

Webhooks go to ``url`` (``/hook``); any other path and method is recorded too, so a test standing in
for an attacker's server can assert that it received nothing at all."""

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
    statuses: list[int] = field(default_factory=list)  # answers to give, in order; then 200
    _lock: threading.Lock = field(default_factory=threading.Lock)

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
        with receiver._lock:
            receiver.received.append(
                Received(
                    body,
                    {key.lower(): value for key, value in request.headers.items()},
                    request.method,
                    request.url.path,
                )
            )
            status = receiver.statuses.pop(0) if receiver.statuses else 200
        return Response("SUCCESS", status_code=status)

    every_method = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    app = Starlette(routes=[Route("/{path:path}", receive, methods=every_method)])
    with serve_in_thread(app) as base_url:
        receiver.base_url = base_url
        receiver.url = f"{base_url}/hook"
        yield receiver
