"""Run an ASGI app under uvicorn in a background thread, for the sandbox runner and end-to-end tests."""

from __future__ import annotations

import asyncio
import errno
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

__all__ = ["bind_loopback", "bind_problem", "listening_socket", "serve_in_thread"]


def bind_loopback(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A bound socket, so a server's URL is known before the app that needs it is built.

    Created with ``IPPROTO_TCP`` named: asyncio turns Nagle off (``TCP_NODELAY``) only on sockets whose
    ``proto`` says TCP, and a socket made with proto 0 left every answer waiting ~40 ms for the
    client's delayed ACK (headers and body are separate writes).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket already listening on ``host:port``: connections queue until the server runs."""
    sock = bind_loopback(host, port)
    sock.listen(2048)
    return sock


def bind_problem(host: str, port: int, exc: OSError, remedy: str = "choose another with --port") -> str:
    """One line for a port that cannot be taken, naming it."""
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is already in use by another program; {remedy}"
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}"


@contextmanager
def serve_in_thread(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    sock: socket.socket | None = None,
    startup_timeout: float = 15.0,
) -> Iterator[str]:
    """Serve ``app`` until the block ends; yields its base URL (``http://host:port``)."""
    sock = sock or bind_loopback(host, port)
    host, bound_port = sock.getsockname()[:2]
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)

    def run() -> None:
        asyncio.run(server.serve(sockets=[sock]))

    thread = threading.Thread(target=run, name=f"asgi-{bound_port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server on {host}:{bound_port} did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
