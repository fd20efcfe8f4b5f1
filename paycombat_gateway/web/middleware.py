"""Pure ASGI middleware: request ids and request body size limits.

Written as raw ASGI (not ``BaseHTTPMiddleware``) so they add no task switch to every request and
never buffer a body: the size limit counts bytes as they stream in.
"""

from __future__ import annotations

import json
import logging
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paycombat_gateway.metrics import observe_http_request
from paycombat_gateway.observability import request_id_var

__all__ = ["BodySizeLimitMiddleware", "RequestIdMiddleware"]

logger = logging.getLogger("paycombat_gateway.http")
_REQUEST_ID_HEADER = b"x-request-id"


def _clean_request_id(raw: bytes | None) -> str:
    """Keep a caller's request id when it is short and printable; otherwise make a new one."""
    if raw:
        text = raw.decode("latin-1")
        if 0 < len(text) <= 64 and all(ch.isalnum() or ch in "-_.:" for ch in text):
            return text
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Gives every request an id (``X-Request-Id`` in and out) and logs one line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(_REQUEST_ID_HEADER)
        request_id = _clean_request_id(incoming)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status_holder: dict[str, int] = {}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((_REQUEST_ID_HEADER, request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            if "status" in status_holder:
                raise  # the response has started; nothing better can be sent now
            # A bug must never hand Saleor or PayCombat a stack trace: log it, answer JSON with the request id.
            logger.exception("unhandled error on %s %s", scope["method"], scope["path"])
            body = json.dumps(
                {
                    "success": False,
                    "error": {
                        "code": "INTERNAL_ERROR",
                        "message": f"Unexpected error (request {request_id}).",
                    },
                }
            ).encode()
            await send_with_id(
                {"type": "http.response.start", "status": 500,
                 "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]}
            )  # fmt: skip
            await send_with_id({"type": "http.response.body", "body": body})
        finally:
            elapsed = time.perf_counter() - started
            observe_http_request(
                getattr(scope.get("route"), "path", "unmatched"), status_holder.get("status", 500), elapsed
            )
            logger.info(
                "%s %s -> %s",
                scope["method"],
                scope["path"],
                status_holder.get("status", 500),
                extra={
                    "ctx_method": scope["method"],
                    "ctx_path": scope["path"],
                    "ctx_status": status_holder.get("status", 500),
                    "ctx_duration_ms": round(elapsed * 1000, 2),
                },
            )
            request_id_var.reset(token)


class _BodyTooLarge(Exception):
    pass


class BodySizeLimitMiddleware:
    """Answers 413 for request bodies over ``max_bytes``, declared or streamed, before any handler work."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > self.max_bytes
            except ValueError:
                await _reject(send, 400, "INVALID_CONTENT_LENGTH", "Content-Length is not a number.")
                return
            if too_large:
                await _reject(send, 413, "BODY_TOO_LARGE", f"Request body exceeds {self.max_bytes} bytes.")
                return
        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if not response_started:
                await _reject(send, 413, "BODY_TOO_LARGE", f"Request body exceeds {self.max_bytes} bytes.")


async def _reject(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"success": False, "error": {"code": code, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
