"""``paycombat-gateway serve`` as its own process, the way an operator starts it."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import requests

from paycombat_gateway.background_server import bind_loopback


def free_port() -> int:
    sock = bind_loopback()
    port: int = sock.getsockname()[1]
    sock.close()
    return port


@dataclass
class ServeProcess:
    url: str
    process: subprocess.Popen[bytes]
    stderr: str = field(default="")  # what it logged, once it has stopped


@contextmanager
def serve_process(
    env: dict[str, str], port: int, timeout: float = 30, options: tuple[str, ...] = ()
) -> Iterator[ServeProcess]:
    """Start ``serve`` on ``port`` (with ``options``, e.g. ``--workers 2``), wait until ``/healthz``
    answers, stop it when the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-m", "paycombat_gateway", "serve", "--port", str(port), *options],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    running = ServeProcess(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert process.poll() is None, "serve exited"
            try:
                requests.get(f"{running.url}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "serve did not answer in time"
                time.sleep(0.1)
        yield running
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=15)
        running.stderr = stderr.decode()
