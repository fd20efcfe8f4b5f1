"""A PostgreSQL host that never answers fails a connection within seconds instead of hanging a request."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.exc import OperationalError

from paycombat_gateway.storage.db import Database


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose accept queue is full: further connection attempts get no answer at all."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    yield port
    for filler in fillers:
        filler.close()
    listener.close()


@pytest.mark.timeout(30)
def test_the_default_connect_timeout_applies(silent_port: int) -> None:
    database = Database.from_url(f"postgresql+psycopg://app@127.0.0.1:{silent_port}/paycombat")
    with pytest.raises(OperationalError) as caught:
        database.ping()
    assert isinstance(caught.value.orig, psycopg.errors.ConnectionTimeout)


@pytest.mark.timeout(30)
def test_a_connect_timeout_in_the_url_wins(silent_port: int) -> None:
    database = Database.from_url(
        f"postgresql+psycopg://app@127.0.0.1:{silent_port}/paycombat?connect_timeout=1"
    )
    with pytest.raises(OperationalError) as caught:
        database.ping()
    assert isinstance(caught.value.orig, psycopg.errors.ConnectionTimeout)
