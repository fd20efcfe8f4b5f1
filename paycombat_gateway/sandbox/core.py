"""One sandbox's parts wired together (accounts, store, webhooks, checkouts, ledger, faults) and the
background work it does while it runs: delivering webhooks and expiring checkouts whose time is up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from paycombat_gateway.sandbox.accounts import AccountBook, SandboxAccount
from paycombat_gateway.sandbox.checkouts import CheckoutService
from paycombat_gateway.sandbox.dispatcher import DEFAULT_RETRY_DELAYS, WebhookDispatcher
from paycombat_gateway.sandbox.faults import FaultBook
from paycombat_gateway.sandbox.ledger import Ledger
from paycombat_gateway.sandbox.models import Clock, utc_now
from paycombat_gateway.sandbox.store import SandboxStore

__all__ = ["Sandbox", "SandboxConfig"]

logger = logging.getLogger(__name__)


@dataclass
class SandboxConfig:
    """How to build a sandbox.

    ``database``: None keeps everything in memory; a path keeps it in that SQLite file.
    ``webhook_retry_delays``: seconds before each retry of a webhook the receiver did not take (2xx).
    ``expiry_sweep_seconds``: how often open checkouts past ``expire_at`` are expired (PAYIN EXPIRED).
    ``clock``: the sandbox's idea of now (tests move it forward to expire checkouts).
    """

    accounts: Sequence[SandboxAccount]
    database: str | None = None
    webhook_retry_delays: Sequence[float] = field(default=DEFAULT_RETRY_DELAYS)
    expiry_sweep_seconds: float = 1.0
    clock: Clock = utc_now
    webhook_timeout: tuple[float, float] = (3.0, 10.0)


class Sandbox:
    """The parts of one running sandbox; ``start``/``stop`` run its background threads."""

    def __init__(self, config: SandboxConfig) -> None:
        if config.expiry_sweep_seconds <= 0:
            raise ValueError("expiry_sweep_seconds must be positive")
        self.config = config
        self.accounts = AccountBook(config.accounts)
        self.store = SandboxStore(config.database)
        self.dispatcher = WebhookDispatcher(
            self.store, config.webhook_retry_delays, timeout=config.webhook_timeout, clock=config.clock
        )
        self.checkouts = CheckoutService(self.store, self.dispatcher, self.accounts, config.clock)
        self.ledger = Ledger(self.store, self.dispatcher, config.clock)
        self.faults = FaultBook()
        self._stop_sweeping = threading.Event()
        self._sweeper: threading.Thread | None = None

    def start(self) -> None:
        self.dispatcher.start()
        self._sweeper = threading.Thread(target=self._sweep, name="sandbox-expiry", daemon=True)
        self._sweeper.start()

    def stop(self) -> None:
        self._stop_sweeping.set()
        if self._sweeper is not None:
            self._sweeper.join(timeout=10)
        self.dispatcher.stop()
        self.store.close()

    def _sweep(self) -> None:
        while not self._stop_sweeping.wait(self.config.expiry_sweep_seconds):
            try:
                self.checkouts.expire_due()
            except Exception:  # keep sweeping; one bad record must not stop expiry for good
                logger.exception("sandbox: expiring due checkouts failed")
