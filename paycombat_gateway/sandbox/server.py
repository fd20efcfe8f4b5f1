"""``run_sandbox``: a sandbox on a loopback port for the length of a ``with`` block (tests, recording)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import requests

from paycombat_gateway.background_server import serve_in_thread
from paycombat_gateway.sandbox.accounts import SandboxAccount
from paycombat_gateway.sandbox.app import SandboxConfig, create_sandbox_app
from paycombat_gateway.sandbox.dispatcher import DEFAULT_RETRY_DELAYS
from paycombat_gateway.sandbox.service import SandboxService

__all__ = ["RunningSandbox", "SandboxAccount", "run_sandbox"]


class RunningSandbox:
    def __init__(self, base_url: str, service: SandboxService) -> None:
        self.base_url = base_url
        self.service = service
        self.store = service.store

    def settle(
        self,
        checkout_id: str,
        outcome: str = "success",
        payin_method_name: str | None = None,
        amount: Any = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"outcome": outcome}
        if payin_method_name is not None:
            body["payin_method_name"] = payin_method_name
        if amount is not None:
            body["amount"] = str(amount)
        response = requests.post(
            f"{self.base_url}/_sandbox/checkouts/{checkout_id}/settle", json=body, timeout=10
        )
        response.raise_for_status()
        data: dict[str, Any] = response.json()["data"]
        return data

    def add_fault(self, path_prefix: str, **spec: Any) -> None:
        requests.post(
            f"{self.base_url}/_sandbox/faults", json={"path_prefix": path_prefix, **spec}, timeout=5
        ).raise_for_status()

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        return self.service.dispatcher.wait_idle(timeout)


@contextmanager
def run_sandbox(
    accounts: Sequence[SandboxAccount],
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    database: str | None = None,
    webhook_retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
) -> Iterator[RunningSandbox]:
    app = create_sandbox_app(SandboxConfig(accounts, database, webhook_retry_delays))
    with serve_in_thread(app, host, port) as base_url:
        yield RunningSandbox(base_url, app.state.service)
