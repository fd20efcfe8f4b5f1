"""Delivers signed webhooks to merchants, retrying with backoff while they answer non-2xx."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import requests

from paycombat_gateway.paycombat.signing import sign_body
from paycombat_gateway.sandbox.store import SandboxStore

__all__ = ["WebhookDispatcher"]

logger = logging.getLogger(__name__)
DEFAULT_RETRY_DELAYS = (1.0, 5.0, 30.0, 120.0, 600.0)


class WebhookDispatcher:
    def __init__(self, store: SandboxStore, retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS) -> None:
        self.store = store
        self.retry_delays = tuple(retry_delays)
        self._queue: list[tuple[float, int, str]] = []
        self._counter = itertools.count()
        self._wake = threading.Condition()
        self._stopped = False
        self._in_flight = 0
        self._http = requests.Session()
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()

    def send(self, url: str, body: dict[str, Any], signature_key: str, event: str) -> dict[str, Any]:
        signed = sign_body(body, signature_key)
        delivery = self.store.put(
            "delivery",
            {
                "id": str(uuid.uuid4()),
                "event": event,
                "url": url,
                "payload": signed.payload.decode("utf-8"),
                "signature": signed.signature,
                "attempts": [],
                "delivered": False,
                "created_at": datetime.now(UTC).isoformat(),
            },
        )
        self._schedule(delivery["id"], 0.0)
        return delivery

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
            finally:
                with self._wake:
                    self._in_flight -= 1

    def _attempt(self, delivery_id: str) -> None:
        delivery = self.store.get("delivery", delivery_id)
        if delivery is None:
            return
        status: int | None = None
        error: str | None = None
        try:
            response = self._http.post(
                delivery["url"],
                data=delivery["payload"].encode("utf-8"),
                headers={"Content-Type": "application/json", "X-Signature": delivery["signature"]},
                timeout=(3, 10),
            )
            status = response.status_code
        except requests.RequestException as exc:
            error = type(exc).__name__
        attempts = [
            *delivery["attempts"],
            {"at": datetime.now(UTC).isoformat(), "status": status, "error": error},
        ]
        delivered = status is not None and 200 <= status < 300
        self.store.put("delivery", {**delivery, "attempts": attempts, "delivered": delivered})
        if not delivered:
            retry = len(attempts) - 1
            if retry < len(self.retry_delays):
                self._schedule(delivery_id, self.retry_delays[retry])
            else:
                logger.warning(
                    "sandbox webhook %s gave up after %s attempts", delivery["event"], len(attempts)
                )

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until nothing is due (tests); True when idle."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._wake:
                if not self._queue and not self._in_flight:
                    return True
            time.sleep(0.02)
        return False

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify_all()
        self._thread.join(timeout=5)
        self._http.close()
