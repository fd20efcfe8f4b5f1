"""A shopper pays on PayCombat's hosted checkout and the Saleor transaction ends up charged, exactly once."""

from __future__ import annotations

import re
import time
from datetime import datetime
from decimal import Decimal

import pytest
import requests

from paycombat_gateway.gateway import initialize as initialize_module
from paycombat_gateway.saleor.webhooks import SyncEvent
from paycombat_gateway.storage.models import PaycombatDelivery, PaymentSession
from tests.support.saleor_double import (
    action_payload,
    checkout_source,
    gateway_payload,
    initialize_payload,
    process_payload,
)
from tests.support.stack import Stack, money_reports


def _pay_on_hosted_page(checkout_url: str, method: str | None = None) -> requests.Response:
    page = requests.get(checkout_url, timeout=5)
    assert page.status_code == 200
    action = re.search(r'action="([^"]+)"', page.text)
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert action and token
    data = {"token": token.group(1), "action": "pay"}
    if method:
        data["method"] = method
    return requests.post(action.group(1), data=data, allow_redirects=False, timeout=5)


def test_gateway_initialize_lists_methods(stack: Stack) -> None:
    body = stack.call(
        SyncEvent.PAYMENT_GATEWAY_INITIALIZE_SESSION,
        gateway_payload(stack.saleor, currency="AUD", country="AU"),
    )
    assert body["data"]["payin_methods"] == ["au_bank_npp", "card"]
    assert body["data"]["environment"] == "sandbox" and body["data"]["krw_virtual_account"] is False
    krw = stack.call(
        SyncEvent.PAYMENT_GATEWAY_INITIALIZE_SESSION,
        gateway_payload(stack.saleor, amount="15000", currency="KRW", country="KR"),
    )
    assert krw["data"]["krw_virtual_account"] is True and "KDB산업은행" in krw["data"]["banks"]
    other = stack.call(
        SyncEvent.PAYMENT_GATEWAY_INITIALIZE_SESSION, gateway_payload(stack.saleor, channel="elsewhere")
    )
    assert other["data"]["errors"][0]["code"] == "CHANNEL_NOT_CONFIGURED"


def test_full_card_flow_to_charge_success(stack: Stack) -> None:
    initialize = initialize_payload(
        stack.saleor,
        amount="91.00",
        currency="AUD",
        source=checkout_source(total="91.00", currency="AUD", country="AU"),
    )
    answer = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)
    assert answer["result"] == "CHARGE_ACTION_REQUIRED"
    assert answer["amount"] == "91.00"
    checkout_id = answer["pspReference"]
    assert set(answer["data"]) >= {"checkout_url", "checkout_token", "expires_at"}
    checkout = stack.sandbox.store.get("checkout", checkout_id)
    assert (
        checkout is not None
        and checkout["webhook_url"] == f"{stack.app_url}/api/webhooks/paycombat/{stack.config_id}"
    )
    assert Decimal(str(checkout["amount"])) == Decimal("91.00") and checkout["country_code"] == "AU"
    paid = _pay_on_hosted_page(answer["data"]["checkout_url"], "au_bank_npp")
    assert paid.status_code == 303 and paid.headers["location"] == "https://shop.example.com/checkout/return"
    stack.wait_until(lambda: bool(stack.reports("CHARGE_SUCCESS")))
    (report,) = stack.reports("CHARGE_SUCCESS")
    assert report["id"] == initialize["transaction"]["id"]
    assert report["pspReference"] == checkout_id and report["amount"] == Decimal("91.00")
    processed = stack.call(SyncEvent.TRANSACTION_PROCESS_SESSION, process_payload(stack.saleor, initialize))
    assert processed["result"] == "CHARGE_SUCCESS" and processed["pspReference"] == checkout_id
    assert processed["amount"] == "91.00"
    assert stack.saleor.accepted_events() == [
        (initialize["transaction"]["id"], "CHARGE_SUCCESS", checkout_id, Decimal("91.00"))
    ]
    assert stack.saleor.invalid_documents == []


def test_process_before_payment_never_trusts_the_redirect(stack: Stack) -> None:
    """No payin yet: still action required (a CHARGE_REQUEST would let Saleor complete an unpaid order)."""
    initialize = initialize_payload(stack.saleor)
    started = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)
    processed = stack.call(
        SyncEvent.TRANSACTION_PROCESS_SESSION, process_payload(stack.saleor, initialize, {"status": "paid"})
    )
    assert processed["result"] == "CHARGE_ACTION_REQUIRED"
    assert processed["pspReference"] == started["pspReference"]
    assert processed["data"]["checkout_url"] == started["data"]["checkout_url"]
    assert processed["actions"] == ["CANCEL"]


def test_krw_virtual_account_flow(stack: Stack) -> None:
    initialize = initialize_payload(
        stack.saleor,
        amount="15000",
        currency="KRW",
        data={"return_url": "https://shop.example.com/return", "bank": "KDB산업은행"},
        source=checkout_source(total="15000", currency="KRW", country="KR"),
    )
    answer = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)
    assert answer["result"] == "CHARGE_ACTION_REQUIRED", answer
    account = answer["data"]["virtual_account"]
    assert account["bank_name"] == "KDB산업은행" and account["account_number"]
    assert answer["amount"] == "15000"
    stack.sandbox.settle(answer["pspReference"], "success")
    stack.wait_until(lambda: bool(stack.reports("CHARGE_SUCCESS")))
    assert stack.reports("CHARGE_SUCCESS")[0]["amount"] == Decimal("15000")


def test_duplicate_and_out_of_order_webhooks_report_one_event(stack: Stack) -> None:
    stack.settled_checkout("success")
    delivery = stack.delivery("PAYIN_SUCCESS")
    url = f"{stack.app_url}/api/webhooks/paycombat/{stack.config_id}"
    for _ in range(2):
        again = requests.post(
            url, data=delivery["payload"].encode(), headers={"X-Signature": delivery["signature"]}, timeout=5
        )
        assert again.status_code == 200 and again.json()["duplicate"] is True
    late_expired = (
        delivery["payload"]
        .replace('"status":"SUCCESS"', '"status":"EXPIRED"')
        .replace(delivery["payload"][7:43], "5b0c7e8e-0000-4000-8000-000000000001")
    )
    assert stack.deliver_signed(late_expired.encode()).status_code == 200
    stack.wait_until(
        lambda: stack.ctx.outbox_idle() if hasattr(stack.ctx, "outbox_idle") else True, timeout=1
    )
    assert len(stack.reports("CHARGE_SUCCESS")) == 1
    assert stack.reports("CHARGE_FAILURE") == []
    with stack.ctx.database.session() as session:
        assert session.query(PaycombatDelivery).count() == 2
        row = session.query(PaymentSession).one()
        assert row.state == "succeeded"


def test_forged_paycombat_signature_is_refused_and_nothing_stored(stack: Stack) -> None:
    initialize = initialize_payload(stack.saleor)
    stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)
    url = f"{stack.app_url}/api/webhooks/paycombat/{stack.config_id}"
    body = b'{"id":"x","status":"SUCCESS","type":"PAYIN","amount":49.99,"amount_type":"USD","order_reference":"SALEOR-1"}'
    for headers in ({"X-Signature": "0" * 64}, {}, {"X-Signature": "not hex"}):
        response = requests.post(url, data=body, headers=headers, timeout=5)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "SIGNATURE_VERIFICATION_FAILED"
    assert (
        requests.post(f"{stack.app_url}/api/webhooks/paycombat/unknown", data=body, timeout=5).status_code
        == 404
    )
    with stack.ctx.database.session() as session:
        assert session.query(PaycombatDelivery).count() == 0
        assert money_reports(session).count() == 0


def test_amount_mismatch_reports_paycombats_amount_and_flags_it(stack: Stack) -> None:
    initialize = initialize_payload(stack.saleor, amount="49.99")
    checkout_id = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)["pspReference"]
    stack.sandbox.settle(checkout_id, "success", amount=Decimal("40.00"))
    stack.wait_until(lambda: bool(stack.reports("CHARGE_SUCCESS")))
    (report,) = stack.reports("CHARGE_SUCCESS")
    assert report["amount"] == Decimal("40.00")
    assert "requested 49.99, paid 40.00" in report["message"]
    with stack.ctx.database.session() as session:
        assert session.query(PaymentSession).one().amount_mismatch is True


def test_retried_initialize_returns_the_same_checkout(stack: Stack) -> None:
    initialize = initialize_payload(stack.saleor, idempotency_key="idem-1")
    first = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)
    second = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)
    assert first["pspReference"] == second["pspReference"]
    assert first["data"]["checkout_url"] == second["data"]["checkout_url"]
    assert stack.sandbox.store.count("checkout") == 1


def test_paycombat_5xx_and_timeout_on_initialize_then_retry_succeeds(stack: Stack) -> None:
    initialize = initialize_payload(stack.saleor, idempotency_key="idem-faults")
    stack.sandbox.add_fault("/api/v1/checkout/payment-request", status=503, count=1)
    failed = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)
    assert failed["result"] == "CHARGE_FAILURE"
    assert failed["data"]["errors"][0]["code"] == "PAYCOMBAT_UNAVAILABLE"
    stack.sandbox.add_fault("/api/v1/checkout/payment-request", delay_seconds=3, count=1)
    timed_out = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)
    assert timed_out["result"] == "CHARGE_FAILURE"
    assert timed_out["data"]["errors"][0]["code"] == "PAYCOMBAT_UNAVAILABLE"
    stack.sandbox.add_fault(
        "/api/v1/checkout/payment-request", status=200, body="<html>gateway</html>", count=1
    )
    assert stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)["result"] == "CHARGE_FAILURE"
    recovered = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)
    assert recovered["result"] == "CHARGE_ACTION_REQUIRED"


def test_cancel_before_and_after_payment(stack: Stack) -> None:
    unpaid = initialize_payload(stack.saleor)
    unpaid_id = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, unpaid)["pspReference"]
    cancelled = stack.call(
        SyncEvent.TRANSACTION_CANCELATION_REQUESTED,
        action_payload(stack.saleor, "TransactionCancelationRequested", unpaid),
    )
    assert cancelled["result"] == "CANCEL_SUCCESS" and cancelled["pspReference"] == unpaid_id
    assert stack.sandbox.store.get("checkout", unpaid_id)["_status"] == "CANCELLED"  # type: ignore[index]
    paid, _ = stack.settled_checkout("success")
    refused = stack.call(
        SyncEvent.TRANSACTION_CANCELATION_REQUESTED,
        action_payload(stack.saleor, "TransactionCancelationRequested", paid, with_order=True),
    )
    assert refused["result"] == "CANCEL_FAILURE" and refused["message"].startswith("ALREADY_PAID")


def test_channel_without_configuration_fails_clearly(stack: Stack) -> None:
    initialize = initialize_payload(stack.saleor, source=checkout_source(channel="other-channel"))
    answer = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)
    assert answer["result"] == "CHARGE_FAILURE"
    assert answer["data"]["errors"][0]["code"] == "CHANNEL_NOT_CONFIGURED"


def test_process_with_a_pending_payin_is_a_charge_request(stack: Stack) -> None:
    initialize = initialize_payload(stack.saleor)
    started = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)
    with stack.ctx.database.session() as session:  # what a PAYIN PENDING delivery leaves behind
        row = session.query(PaymentSession).filter_by(checkout_id=started["pspReference"]).one()
        row.state = "pending"
    processed = stack.call(SyncEvent.TRANSACTION_PROCESS_SESSION, process_payload(stack.saleor, initialize))
    assert processed["result"] == "CHARGE_REQUEST"
    assert processed["pspReference"] == started["pspReference"]


def test_initialize_retried_after_payment_answers_paid_not_the_hosted_page(stack: Stack) -> None:
    initialize, checkout_id = stack.settled_checkout("success", idempotency_key="paid-then-retried")

    retried = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)

    assert retried["result"] == "CHARGE_SUCCESS" and retried["pspReference"] == checkout_id
    assert "checkout_url" not in retried["data"]
    assert stack.sandbox.store.count("checkout") == 1


def test_cancel_after_a_failed_payin_closes_the_checkout_at_paycombat(stack: Stack) -> None:
    still_open = initialize_payload(stack.saleor)
    open_id = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, still_open)["pspReference"]
    with stack.ctx.database.session() as session:  # a payin failed; the hosted page stays open
        session.query(PaymentSession).filter_by(checkout_id=open_id).one().state = "failed"
    cancelled = stack.call(
        SyncEvent.TRANSACTION_CANCELATION_REQUESTED,
        action_payload(stack.saleor, "TransactionCancelationRequested", still_open),
    )
    assert cancelled["result"] == "CANCEL_SUCCESS"
    assert stack.sandbox.store.get("checkout", open_id)["_status"] == "CANCELLED"  # type: ignore[index]

    closed, _ = stack.settled_checkout("failed")
    already = stack.call(
        SyncEvent.TRANSACTION_CANCELATION_REQUESTED,
        action_payload(stack.saleor, "TransactionCancelationRequested", closed),
    )
    assert already["result"] == "CANCEL_SUCCESS" and "already failed" in already["message"]


@pytest.mark.parametrize("amount", ["90.995", "100000000000"])  # finer than a cent; beyond the limit
def test_an_amount_that_cannot_be_reported_exactly_is_held_not_rounded(stack: Stack, amount: str) -> None:
    stack.settled_checkout("success")
    target = initialize_payload(stack.saleor)
    target_id = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, target)["pspReference"]
    body = re.sub(
        r'"amount":[^,}]+',
        f'"amount":{amount}',
        stack.payin_success_for(target_id, "5b0c7e8e-0000-4000-8000-0000000000aa"),
    )
    answer = stack.deliver_signed(body.encode())

    assert answer.status_code == 200  # stored: PayCombat must not retry it forever
    with stack.ctx.database.session() as session:
        held = session.query(PaycombatDelivery).filter(PaycombatDelivery.match_state == "unmatched").one()
        assert "held for review" in (held.note or "")
        assert session.query(PaymentSession).filter_by(checkout_id=target_id).one().state == "action_required"
    assert len(stack.reports("CHARGE_SUCCESS")) == 1  # only the template's


def test_an_amount_no_store_keeps_exactly_is_refused_before_anything_is_written(stack: Stack) -> None:
    answer = stack.call(
        SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize_payload(stack.saleor, amount="100000000000.00")
    )
    assert answer["result"] == "CHARGE_FAILURE"
    assert answer["data"]["errors"][0]["code"] == "INVALID_AMOUNT"
    assert "largest amount" in answer["message"]
    assert stack.sandbox.store.count("checkout") == 0
    with stack.ctx.database.session() as session:
        assert session.query(PaymentSession).count() == 0


def test_a_slow_paycombat_skips_preselection_to_answer_saleor_in_time(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = {"return_url": "https://shop.example.com/return", "payin_method": "card"}
    quick = stack.call(
        SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize_payload(stack.saleor, currency="AUD", data=data)
    )
    assert quick["result"] == "CHARGE_ACTION_REQUIRED" and quick["data"]["payin_method"] == "card"

    monkeypatch.setattr(
        initialize_module, "PRESELECT_IF_WITHIN", 0.0
    )  # as if creating the checkout took long
    slow = stack.call(
        SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize_payload(stack.saleor, currency="AUD", data=data)
    )
    assert slow["result"] == "CHARGE_ACTION_REQUIRED" and slow["data"]["payin_method"] is None
    assert "slowly" in slow["data"]["warnings"][0]


def test_a_failure_answer_carries_the_time_of_the_failure(stack: Stack) -> None:
    initialize, checkout_id = stack.settled_checkout("failed")
    time.sleep(0.05)  # the answer comes later than the failure it reports

    processed = stack.call(SyncEvent.TRANSACTION_PROCESS_SESSION, process_payload(stack.saleor, initialize))

    with stack.ctx.database.session() as session:
        failed_at = session.query(PaymentSession).filter_by(checkout_id=checkout_id).one().updated_at
    assert processed["result"] == "CHARGE_FAILURE"
    assert datetime.fromisoformat(processed["time"]) == failed_at
