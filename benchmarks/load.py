"""A small closed-loop load generator: N workers, keep-alive connections, pre-built requests."""

from __future__ import annotations

import asyncio
import http.client
import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["Request", "Result", "run_load", "run_load_async"]


@dataclass(frozen=True)
class Request:
    path: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Result:
    requests: int
    failures: int
    seconds: float
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(int(len(ordered) * fraction), len(ordered) - 1)] if ordered else 0.0

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else 0.0

    @property
    def p99(self) -> float:
        return self.percentile(0.99)


def run_load(
    base_url: str, requests: Sequence[Request], concurrency: int, expect_status: int = 200
) -> Result:
    """Send every request once, ``concurrency`` at a time; a bounded, self-stopping run."""
    parts = urlsplit(base_url)
    lock = threading.Lock()
    cursor = iter(range(len(requests)))
    latencies: list[float] = []
    failures = [0]

    def worker() -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        while True:
            with lock:
                index = next(cursor, None)
            if index is None:
                break
            request = requests[index]
            started = time.perf_counter()
            try:
                connection.request("POST", request.path, body=request.body, headers=request.headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == expect_status
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                ok = False
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                if not ok:
                    failures[0] += 1
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Result(len(requests), failures[0], time.perf_counter() - started, latencies)


def run_load_async(
    base_url: str,
    requests: Sequence[Request],
    concurrency: int,
    expect_status: int = 200,
    expect_in_body: bytes = b"",
) -> Result:
    """``run_load`` with coroutines instead of threads, for hundreds or thousands of shoppers at once:
    a thread per connection would cost the load generator more CPU than the server it measures. An
    answer counts as failed unless its status is ``expect_status`` and its body contains
    ``expect_in_body`` (a Saleor failure result is still HTTP 200)."""
    return asyncio.run(_run_load_async(base_url, requests, concurrency, expect_status, expect_in_body))


async def _run_load_async(
    base_url: str, requests: Sequence[Request], concurrency: int, expect_status: int, expect_in_body: bytes
) -> Result:
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    cursor = iter(range(len(requests)))
    latencies: list[float] = []
    failures = 0

    async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: Request) -> bool:
        head = [
            f"POST {request.path} HTTP/1.1",
            f"Host: {host}:{port}",
            f"Content-Length: {len(request.body)}",
        ]
        head += [f"{name}: {value}" for name, value in request.headers.items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + request.body)
        status_line = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        body = await reader.readexactly(length)
        return int(status_line.split()[1]) == expect_status and expect_in_body in body

    async def worker() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection(host, port)
        for index in cursor:
            started = time.perf_counter()
            try:
                ok = await asyncio.wait_for(exchange(reader, writer, requests[index]), 30)
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError, TimeoutError):
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                ok = False
            latencies.append((time.perf_counter() - started) * 1000)
            failures += not ok
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Result(len(requests), failures, time.perf_counter() - started, latencies)
