"""Bad input of every kind gets a clear status and changes nothing; odd orders of events stay correct."""

from __future__ import annotations

import json

import pytest

from paycombat_gateway.saleor.webhooks import SyncEvent
from paycombat_gateway.storage.models import PaycombatDelivery, PaymentSession
from tests.support.saleor_double import initialize_payload
from tests.support.stack import PATHS, Stack


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json at all", 400),
        (b"\xff\xfe\xfa not utf-8", 400),
        (b"[" * 5000 + b"]" * 5000, 400),
        (b'"just a string"', 400),
        (b"", 400),
        (b"{" + b'"a":' * 10 + b"1" + b"}" * 10, 400),
    ],
)
def test_authentic_but_unusable_paycombat_bodies_are_refused(stack: Stack, body: bytes, status: int) -> None:
    response = stack.deliver_signed(body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == "CANT_BE_PARSED"
    with stack.ctx.database.session() as session:
        assert session.query(PaycombatDelivery).count() == 0


def test_huge_paycombat_body_is_413(stack: Stack) -> None:
    body = json.dumps({"id": "x", "padding": "a" * 2_000_000}).encode()
    assert stack.deliver_signed(body).status_code == 413


def test_deep_or_broken_saleor_bodies_are_refused_before_any_work(stack: Stack) -> None:
    path = PATHS[SyncEvent.TRANSACTION_INITIALIZE_SESSION]
    for body in (b"[" * 100_000, b"\xff\xfe", b"[1, 2, 3]"):
        response = stack.saleor.send_webhook(
            stack.app_url, path, "TRANSACTION_INITIALIZE_SESSION", {}, body=body
        )
        assert response.status_code == 400, body[:10]
    with stack.ctx.database.session() as session:
        assert session.query(PaymentSession).count() == 0


def test_paycombat_answer_without_status_is_a_failure_not_a_checkout(stack: Stack) -> None:
    stack.sandbox.add_fault(
        "/api/v1/checkout/payment-request", status=200, body='{"message":"OK","data":{"id":"x"}}'
    )
    answer = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize_payload(stack.saleor))
    assert answer["result"] == "CHARGE_FAILURE"
    assert answer["data"]["errors"][0]["code"] == "PAYCOMBAT_UNAVAILABLE"
    assert "Traceback" not in json.dumps(answer)


def test_success_arriving_after_expired_still_charges(stack: Stack) -> None:
    stack.settled_checkout("expired")
    expired = stack.delivery("PAYIN_EXPIRED")
    late_success = json.loads(expired["payload"])
    late_success.update(status="SUCCESS", id="7d0e6c9a-0000-4000-8000-00000000beef")
    assert stack.deliver_signed(json.dumps(late_success).encode()).status_code == 200
    stack.wait_until(lambda: bool(stack.reports("CHARGE_SUCCESS")))
    assert [event[1] for event in stack.saleor.accepted_events()] == ["CHARGE_FAILURE", "CHARGE_SUCCESS"]
    with stack.ctx.database.session() as session:
        assert session.query(PaymentSession).one().state == "succeeded"
