"""``run_sandbox``: a sandbox on a loopback port for the length of a ``with`` block (tests, recordings).

    with run_sandbox([SandboxAccount(x_token="snd_x", signature_key="snd_k")]) as sandbox:
        requests.post(sandbox.base_url + "/api/v1/checkout/payment-request", ...)
        sandbox.settle(checkout_id, "success")        # payin + signed PAYIN SUCCESS webhook
        sandbox.wait_for_webhooks()

uvicorn serves the app in a background thread; the block starts once the port accepts connections
and the server (webhook and expiry threads included) is shut down when it ends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import requests

from paycombat_gateway.background_server import serve_in_thread
from paycombat_gateway.sandbox.accounts import SandboxAccount
from paycombat_gateway.sandbox.app import create_sandbox_app
from paycombat_gateway.sandbox.checkouts import CheckoutService
from paycombat_gateway.sandbox.core import Sandbox, SandboxConfig
from paycombat_gateway.sandbox.dispatcher import DEFAULT_RETRY_DELAYS, WebhookDispatcher
from paycombat_gateway.sandbox.errors import SandboxError
from paycombat_gateway.sandbox.models import Clock, utc_now
from paycombat_gateway.sandbox.store import SandboxStore

__all__ = ["RunningSandbox", "SandboxAccount", "run_sandbox"]


class RunningSandbox:
    """A sandbox serving at ``base_url``; helpers call its ``/_sandbox/`` API over HTTP."""

    def __init__(self, base_url: str, sandbox: Sandbox) -> None:
        self.base_url = base_url
        self.sandbox = sandbox

    def __repr__(self) -> str:
        return f"RunningSandbox({self.base_url})"

    @property
    def store(self) -> SandboxStore:
        """Every record (``count``/``all``/``get``/``filter``), for assertions."""
        return self.sandbox.store

    @property
    def checkouts(self) -> CheckoutService:
        return self.sandbox.checkouts

    @property
    def dispatcher(self) -> WebhookDispatcher:
        return self.sandbox.dispatcher

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(method, self.base_url + path, json=body, timeout=10)
        answer = json.loads(response.content or b"null")
        if not response.ok:
            message = answer.get("message") if isinstance(answer, dict) else response.text
            raise SandboxError(response.status_code, str(message))
        return answer["data"]

    def settle(
        self,
        checkout_id: str,
        outcome: str = "success",
        payin_method_name: str | None = None,
        amount: Decimal | int | str | None = None,
    ) -> dict[str, Any]:
        """Settle a checkout as the hosted page would; returns the payin as its JSON parses (so it can be
        re-sent as JSON; read an amount exactly with ``Decimal(str(payin["amount"]))``).

        Raises ``SandboxError`` (``.status`` 404, 409, 422) when the sandbox refuses.
        """
        body: dict[str, Any] = {"outcome": outcome}
        if payin_method_name is not None:
            body["payin_method_name"] = payin_method_name
        if amount is not None:
            body["amount"] = str(amount)
        payin: dict[str, Any] = self._call("POST", f"/_sandbox/checkouts/{checkout_id}/settle", body)
        return payin

    def add_fault(self, path_prefix: str, **spec: Any) -> None:
        """Arm a fault: ``status``, ``delay_seconds``, ``body``, ``count`` (see ``faults.py``)."""
        self._call("POST", "/_sandbox/faults", {"path_prefix": path_prefix, **spec})

    def clear_faults(self) -> None:
        self._call("DELETE", "/_sandbox/faults")

    def drop_webhooks(self, account: str | None = None, count: int | None = None) -> None:
        """Drop every webhook of ``account`` (name or merchant id) and/or the next ``count`` deliveries."""
        spec = {key: value for key, value in (("account", account), ("count", count)) if value is not None}
        self._call("POST", "/_sandbox/webhooks/drop", spec)

    def stop_dropping_webhooks(self) -> None:
        self._call("DELETE", "/_sandbox/webhooks/drop")

    def release_dropped_webhooks(self) -> int:
        """Send every dropped webhook now; how many."""
        released: int = self._call("POST", "/_sandbox/webhooks/release")["released"]
        return released

    def add_account(self, account: SandboxAccount) -> None:
        """Another merchant from now on (the account's secrets go over loopback only)."""
        self._call(
            "POST",
            "/_sandbox/accounts",
            {"name": account.name, "x_token": account.x_token, "signature_key": account.signature_key},
        )

    def deliveries(self, event: str | None = None) -> list[dict[str, Any]]:
        """Webhook deliveries with their attempts, oldest first, optionally of one ``event``."""
        return [
            delivery for delivery in self.store.all("delivery") if event is None or delivery["event"] == event
        ]

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        """Wait until no webhook is due or being attempted (retries included); True when idle."""
        return self.dispatcher.wait_idle(timeout)


@contextmanager
def run_sandbox(
    accounts: Sequence[SandboxAccount],
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    database: str | None = None,
    webhook_retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    expiry_sweep_seconds: float = 1.0,
    clock: Clock = utc_now,
) -> Iterator[RunningSandbox]:
    """Serve a sandbox on ``host:port`` (0 = a free port) until the block ends.

    ``database``: None keeps state in memory, a path keeps it in that SQLite file.
    ``webhook_retry_delays``: seconds before each webhook retry (tests pass short ones).
    """
    app = create_sandbox_app(
        SandboxConfig(
            accounts=accounts,
            database=database,
            webhook_retry_delays=webhook_retry_delays,
            expiry_sweep_seconds=expiry_sweep_seconds,
            clock=clock,
        )
    )
    with serve_in_thread(app, host, port) as base_url:
        yield RunningSandbox(base_url, app.state.sandbox)
