"""Delivers signed webhooks to merchants, retrying with backoff while they answer non-2xx.

A body is serialised once, the JavaScript way (``JSON.stringify``), signed with the account's key into
``X-Signature``, and those exact bytes are POSTed on every attempt. One background thread works through
a queue ordered by due time, so deliveries reach a receiver in the order they were made unless one is
being retried. Every attempt is recorded on the delivery (``GET /_sandbox/deliveries``). With a SQLite
store, deliveries still owed are resumed when the sandbox starts again.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import requests

from paycombat_gateway.paycombat.signing import sign_body
from paycombat_gateway.sandbox.faults import WebhookDrops
from paycombat_gateway.sandbox.models import Clock, iso, utc_now
from paycombat_gateway.sandbox.store import SandboxStore

__all__ = ["DEFAULT_RETRY_DELAYS", "WebhookDispatcher"]

logger = logging.getLogger(__name__)

# Seconds to wait before each retry: six attempts in all, like Finmo's six (contract inference
# ``webhook_retry_schedule``); far shorter than Finmo's hours so a developer sees the retries happen.
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0, 600.0)


class WebhookDispatcher:
    """A queue of webhook deliveries and the thread that attempts them."""

    def __init__(
        self,
        store: SandboxStore,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        *,
        timeout: tuple[float, float] = (3.0, 10.0),
        clock: Clock = utc_now,
        drops: WebhookDrops | None = None,
    ) -> None:
        if any(delay < 0 for delay in retry_delays):
            raise ValueError("webhook retry delays cannot be negative")
        self.store = store
        self.retry_delays = tuple(float(delay) for delay in retry_delays)
        self.timeout = timeout
        self._clock = clock
        self.drops = drops or WebhookDrops()
        self._queue: list[tuple[float, int, str]] = []
        self._counter = itertools.count()
        self._wake = threading.Condition()
        self._stopped = False
        self._in_flight = 0
        self._http = requests.Session()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start delivering, first resuming deliveries a previous run still owed."""
        for delivery in self.store.all("delivery"):
            if not delivery["delivered"] and not delivery["gave_up"] and not delivery.get("dropped"):
                self._schedule(delivery["id"], 0.0)
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()

    def send(
        self,
        url: str,
        body: dict[str, Any],
        signature_key: str,
        event: str,
        *,
        account: str,
        checkout_id: str | None = None,
    ) -> dict[str, Any]:
        """Queue ``body`` for ``url``, signed with ``signature_key``; returns the delivery record."""
        signed = sign_body(body, signature_key)
        dropped = self.drops.take(account)
        delivery = self.store.put(
            "delivery",
            {
                "id": str(uuid.uuid4()),
                "event": event,
                "url": url,
                "payload": signed.payload.decode("utf-8"),
                "signature": signed.signature,
                "checkout_id": checkout_id,
                "attempts": [],
                "delivered": False,
                "gave_up": False,
                "dropped": dropped,
                "next_attempt_at": None if dropped else iso(self._clock()),
                "created_at": iso(self._clock()),
                "_account": account,
            },
        )
        if not dropped:
            self._schedule(delivery["id"], 0.0)
        return delivery

    def release_dropped(self) -> int:
        """Send every dropped delivery now, late (what PayCombat's retry does once the way is clear)."""
        released = 0
        for delivery in self.store.filter("delivery", dropped=True):
            self.store.put("delivery", {**delivery, "dropped": False, "next_attempt_at": iso(self._clock())})
            self._schedule(delivery["id"], 0.0)
            released += 1
        return released

    def _schedule(self, delivery_id: str, delay: float) -> None:
        with self._wake:
            heapq.heappush(self._queue, (time.monotonic() + delay, next(self._counter), delivery_id))
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopped and (not self._queue or self._queue[0][0] > time.monotonic()):
                    timeout = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._wake.wait(timeout)
                if self._stopped:
                    return
                _, _, delivery_id = heapq.heappop(self._queue)
                self._in_flight += 1
            try:
                self._attempt(delivery_id)
            except Exception:  # the worker must outlive one broken delivery
                logger.exception("sandbox webhook delivery %s failed unexpectedly", delivery_id)
            finally:
                with self._wake:
                    self._in_flight -= 1
                    self._wake.notify_all()

    def _attempt(self, delivery_id: str) -> None:
        delivery = self.store.get("delivery", delivery_id)
        if delivery is None or delivery["delivered"]:
            return
        status: int | None = None
        error: str | None = None
        started = time.monotonic()
        attempted_at = iso(self._clock())
        try:
            response = self._http.post(
                delivery["url"],
                data=delivery["payload"].encode("utf-8"),
                headers={"Content-Type": "application/json", "X-Signature": delivery["signature"]},
                timeout=self.timeout,
                allow_redirects=False,
            )
            status = response.status_code
            response.close()
        except requests.RequestException as exc:
            error = type(exc).__name__
        attempt = {
            "number": len(delivery["attempts"]) + 1,
            "at": attempted_at,
            "status": status,
            "error": error,
            "duration_ms": round((time.monotonic() - started) * 1000),
        }
        attempts = [*delivery["attempts"], attempt]
        delivered = status is not None and 200 <= status < 300
        retry_index = len(attempts) - 1
        retry_delay = (
            self.retry_delays[retry_index] if not delivered and retry_index < len(self.retry_delays) else None
        )
        self.store.put(
            "delivery",
            {
                **delivery,
                "attempts": attempts,
                "delivered": delivered,
                "gave_up": not delivered and retry_delay is None,
                "next_attempt_at": (
                    iso(self._clock() + timedelta(seconds=retry_delay)) if retry_delay is not None else None
                ),
            },
        )
        if retry_delay is not None:
            self._schedule(delivery_id, retry_delay)
        elif not delivered:
            logger.warning(
                "sandbox webhook %s to the merchant gave up after %d attempts",
                delivery["event"],
                len(attempts),
            )

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no delivery is due or running, retries included (tests); True when idle."""
        deadline = time.monotonic() + timeout
        with self._wake:
            while self._queue or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._wake.wait(min(remaining, 0.05))
        return True

    def stop(self) -> None:
        """Stop the worker (deliveries still owed stay recorded as not delivered)."""
        with self._wake:
            self._stopped = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=15)
        self._http.close()
