"""A nameserver that never answers: a loopback UDP port that receives every query and replies to none.

``resolver`` builds the app's kind of resolver (aiohttp's ``AsyncResolver``) asking only it, to stand in
for ``outbound.dns_resolver``: every look-up then waits until its caller's deadline ends it.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import aiohttp


@dataclass
class SilentNameserver:
    sock: socket.socket

    @property
    def address(self) -> str:
        host, port = self.sock.getsockname()
        return f"{host}:{port}"

    def resolver(self) -> aiohttp.abc.AbstractResolver:
        """Call on the event loop that will use it, as ``outbound.dns_resolver`` is."""
        return aiohttp.AsyncResolver(nameservers=[self.address], timeout=120, tries=1)

    def queries(self) -> int:
        """How many queries arrived since the last call (read and dropped, never answered)."""
        received = 0
        while True:
            try:
                self.sock.recv(4096)
            except BlockingIOError:
                return received
            received += 1


@contextmanager
def run_silent_nameserver() -> Iterator[SilentNameserver]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    try:
        yield SilentNameserver(sock)
    finally:
        sock.close()
