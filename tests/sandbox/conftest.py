"""Fixtures for the sandbox tests: a sandbox on a free loopback port with fast webhook retries and a
movable clock, a webhook receiver, and a tiny signed HTTP helper (no PayCombat client on purpose:
these tests check the sandbox against the documented wire format, not against our own client)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests

from paycombat_gateway.paycombat.contract import ENDPOINTS
from paycombat_gateway.paycombat.signing import sign_body
from paycombat_gateway.sandbox.server import RunningSandbox, SandboxAccount, run_sandbox
from paycombat_gateway.sandbox.store import KINDS
from tests.support.receiver import Receiver, run_receiver

ACCOUNT = SandboxAccount(
    x_token="snd_test_xtoken_0001", signature_key="snd_test_sigkey_0001", name="Shop One"
)
OTHER = SandboxAccount(x_token="snd_test_xtoken_0002", signature_key="snd_test_sigkey_0002", name="Shop Two")
FAST_RETRIES = (0.05, 0.1, 0.2)


class MovableClock:
    """The sandbox's now, which a test can move forward (to expire checkouts without waiting)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


def parse(response: requests.Response) -> Any:
    """A response body with exact decimals."""
    return json.loads(response.content, parse_float=Decimal)


class Api:
    """Calls the sandbox the documented way: X-token always, ``signature`` over the exact bytes sent."""

    def __init__(self, base_url: str, account: SandboxAccount = ACCOUNT) -> None:
        self.base_url = base_url
        self.account = account

    def call(
        self, name: str, body: Any = None, *, query: dict[str, Any] | None = None, **path: str
    ) -> requests.Response:
        endpoint = ENDPOINTS[name]
        headers = {"X-token": self.account.x_token}
        payload = None
        if endpoint.signed:
            signed = sign_body(body if body is not None else {}, self.account.signature_key)
            payload = signed.payload
            headers |= {"signature": signed.signature, "Content-Type": "application/json"}
        return requests.request(
            endpoint.method,
            self.base_url + endpoint.url_path(**path),
            data=payload,
            params=query,
            headers=headers,
            timeout=10,
        )

    def data(self, name: str, body: Any = None, *, query: dict[str, Any] | None = None, **path: str) -> Any:
        """The ``data`` of a successful call (asserting the documented success envelope)."""
        response = self.call(name, body, query=query, **path)
        answer = parse(response)
        assert response.status_code in (200, 201), answer
        assert answer["status"] is True and answer["message"] in ("OK", "Created")
        return answer["data"]

    def create_checkout(self, **overrides: Any) -> dict[str, Any]:
        checkout: dict[str, Any] = self.data("create_payment_request", payment_request(**overrides))
        return checkout


def payment_request(**overrides: Any) -> dict[str, Any]:
    """A valid AUD payment request: 2 x 45.50 = 91.00."""
    body: dict[str, Any] = {
        "amount": Decimal("91.00"),
        "currency": "AUD",
        "country_code": "AU",
        "description": "SALEOR-test-1",
        "customer_id": None,
        "redirect_url": "https://shop.example/return",
        "advanced_redirect_url": {
            "completed_url": "https://shop.example/ok",
            "cancelled_url": "https://shop.example/cancelled",
            "expired_url": "https://shop.example/expired",
            "failed_url": "https://shop.example/failed",
        },
        "webhook_url": None,
        "additional_info": {"customer_name": "Zoë O'Brien"},
        "order_items": [{"product_name": "Widget", "quantity": 2, "unit_price": Decimal("45.50")}],
        "order_fees": [],
    }
    body.update(overrides)
    return body


def krw_request(**overrides: Any) -> dict[str, Any]:
    """A valid KRW payment request: 3 x 5,000 = 15,000 won (no decimals)."""
    return payment_request(
        amount=15000,
        currency="KRW",
        country_code="KR",
        description="주문-KRW-1",
        order_items=[{"product_name": "김치", "quantity": 3, "unit_price": 5000}],
        **overrides,
    )


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def sandbox(clock: MovableClock) -> Iterator[RunningSandbox]:
    with run_sandbox(
        [ACCOUNT, OTHER], webhook_retry_delays=FAST_RETRIES, expiry_sweep_seconds=0.05, clock=clock
    ) as running:
        yield running


@pytest.fixture
def api(sandbox: RunningSandbox) -> Api:
    return Api(sandbox.base_url)


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[RunningSandbox]:
    """One sandbox for a module's many small cases (starting and stopping one takes ~0.2 s).

    Tests using it compare counts before and after rather than expecting an empty store.
    """
    with run_sandbox([ACCOUNT, OTHER], webhook_retry_delays=FAST_RETRIES) as running:
        yield running


def counts(sandbox: RunningSandbox) -> dict[str, int]:
    """How many records of each kind the sandbox holds."""
    return {kind: sandbox.store.count(kind) for kind in KINDS}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with run_receiver() as running:
        yield running
