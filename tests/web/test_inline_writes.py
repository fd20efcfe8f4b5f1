"""On SQLite a request's database work runs on the event loop, with no thread hop; on PostgreSQL (a
network round trip) it keeps its hop, so nothing waits on the network on the loop (issue 22)."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from paycombat_gateway.gateway import blocking
from paycombat_gateway.saleor.webhooks import SyncEvent
from paycombat_gateway.storage.models import OutboxReport, PaymentSession
from tests.support.saleor_double import initialize_payload
from tests.support.stack import run_stack_on


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_verified_initialize_hops_to_a_thread_only_on_postgresql(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hops: list[str] = []
    run_sync = blocking.to_thread.run_sync

    async def counted(function: Any, *args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name != "background-loop":  # the outbox's own loop hops, apart
            hops.append(getattr(function, "func", function).__name__)
        return await run_sync(function, *args, **kwargs)

    with run_stack_on(backend, tmp_path) as stack:
        monkeypatch.setattr(blocking, "to_thread", SimpleNamespace(run_sync=counted))
        answer = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize_payload(stack.saleor))
        monkeypatch.undo()
        assert answer["result"] == "CHARGE_ACTION_REQUIRED"
        with stack.app.state.context.database.session(readonly=True) as session:
            (payment,) = session.query(PaymentSession).all()
            assert payment.checkout_id == answer["pspReference"]  # the writes happened
            assert session.query(OutboxReport).count() == 1  # the checkout's announcement with it

    if backend == "sqlite":
        assert hops == []
    else:  # the channel's configuration (cold cache), the claim, the checkout with its announcement
        assert "claim_payment_session" in hops and "record_checkout" in hops
