"""PayCombat deliveries are stored a bounded number at a time per instance; the rest wait, none is refused."""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from paycombat_gateway.gateway.inbound import InboundResult
from paycombat_gateway.web import app as app_module
from paycombat_gateway.web import paycombat_routes
from tests.support.stack import make_settings, serve_app


@pytest.mark.parametrize("stores", ["hop to threads", "inline on SQLite"])
def test_deliveries_beyond_the_limit_wait_their_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stores: str
) -> None:
    """Stores that hop to threads (PostgreSQL's, or SQLite's meeting a lock) run WEBHOOK_CONCURRENCY at
    a time; SQLite's inline ones one at a time on the loop. Either way every delivery is answered."""
    if stores == "hop to threads":  # as on PostgreSQL: the serving loop runs no database work inline
        monkeypatch.setattr(app_module, "run_inline_on_this_loop", lambda database: None)
    lock = threading.Lock()
    running = {"now": 0, "most": 0}

    def slow_store() -> None:
        with lock:
            running["now"] += 1
            running["most"] = max(running["most"], running["now"])
        time.sleep(0.05)
        with lock:
            running["now"] -= 1

    async def slow_receive(
        *args: Any, store: Callable[[Callable[[], None]], Awaitable[None]]
    ) -> InboundResult:
        await store(slow_store)  # the route's thread hop, as the real flow's recording takes it
        return InboundResult(200, {"status": True})

    monkeypatch.setattr(paycombat_routes, "receive_paycombat_webhook", slow_receive)
    settings = make_settings(tmp_path, "http://127.0.0.1:1", "http://127.0.0.1:9", webhook_concurrency=2)

    with serve_app(settings) as (url, _), ThreadPoolExecutor(8) as senders:
        responses = list(
            senders.map(
                lambda _: requests.post(f"{url}/api/webhooks/paycombat/some-config", data=b"{}", timeout=10),
                range(8),
            )
        )

    assert [response.status_code for response in responses] == [200] * 8
    assert running["most"] == (2 if stores == "hop to threads" else 1)
