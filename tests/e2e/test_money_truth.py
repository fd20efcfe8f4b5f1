"""Issue 19: nothing reaches Saleor that PayCombat did not prove, on SQLite and PostgreSQL.

A success proves a payment only with an amount that is present, finite, more than zero, in the
checkout's currency and valid for its exponent; anything else is held (never a charge), shown on the
Dashboard page as held in PayCombat's own words, and logged. Every payin the app learns from, by
webhook or by Retrieve Payin, must prove it is about this payment: the id asked for, our merchant
reference exactly, and our checkout where it names one.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from paycombat_gateway.background.reconciler import Reconciler
from paycombat_gateway.saleor.webhooks import SyncEvent
from paycombat_gateway.settings import ReconcileSettings
from paycombat_gateway.storage.models import PaymentSession, utcnow
from paycombat_gateway.storage.sessions import held_payments
from tests.support.saleor_double import initialize_payload, process_payload
from tests.support.stack import ACCOUNT, Stack, run_stack_on

OFF = ReconcileSettings(enabled=False, after_seconds=0.01, interval_seconds=0.01, calls_per_second=1000)
TRANSACTIONS = "{ recentTransactions(limit: 50) { checkoutId state stateText heldReason } }"


@pytest.fixture(params=["sqlite", "postgresql"])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    with run_stack_on(request.param, tmp_path, reconcile=OFF) as running:
        yield running


def _open_checkout(stack: Stack, amount: str = "49.99") -> str:
    initialize = initialize_payload(stack.saleor, amount=amount)
    checkout_id: str = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)["pspReference"]
    return checkout_id


def _payment(stack: Stack, checkout_id: str) -> PaymentSession:
    with stack.ctx.database.session(readonly=True) as session:
        row = session.query(PaymentSession).filter_by(checkout_id=checkout_id).one()
        session.expunge(row)
        return row


def _charges(stack: Stack, checkout_id: str) -> list[tuple[str, Decimal | None]]:
    stack.wait_until(stack.outbox_settled)
    return [
        (report["type"], report["amount"])
        for report in stack.saleor.reports
        if report["type"] == "CHARGE_SUCCESS" and report["pspReference"] == checkout_id
    ]


# What a signed PAYIN SUCCESS said about its amount, and why it proves no payment.
UNPROVEN = {
    "negative": ('"amount":-100', "-100"),
    "zero": ('"amount":0', "0"),
    "negative zero": ('"amount":-0.0', "-0.0"),
    "no amount": ("", "no amount"),
    "too precise": ('"amount":49.999', "49.999"),
    "infinite": ('"amount":1e309', "1e309"),
}


def test_a_success_that_proves_no_payment_is_held_and_never_charged(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    stack.settled_checkout("success")  # the sandbox's one real delivery: the template of the others
    caplog.set_level(logging.INFO)
    held = {}
    for number, (case, (amount_field, _)) in enumerate(UNPROVEN.items()):
        checkout_id = _open_checkout(stack)
        body = stack.payin_success_for(checkout_id, f"5b0c7e8e-0000-4000-8000-0000000001{number:02d}")
        crafted = re.sub(r'"amount":[^,}]+,?', amount_field + ("," if amount_field else ""), body)
        assert crafted != body and ('"amount":' in crafted) == bool(amount_field)
        assert stack.deliver_signed(crafted.encode()).json()["status"] is True
        held[case] = checkout_id

    for case, checkout_id in held.items():
        assert _charges(stack, checkout_id) == [], case
        row = _payment(stack, checkout_id)
        assert row.state == "action_required" and row.paid_amount is None, case
        assert row.held_reason and row.held_at is not None, case
        assert "PayCombat said" in row.held_reason and "SUCCESS" in row.held_reason, case
        assert ACCOUNT.signature_key not in row.held_reason and "@" not in row.held_reason
    with stack.ctx.database.session(readonly=True) as session:  # what an alert or a metric counts
        assert {row.checkout_id for row in held_payments(session)} == set(held.values())
    assert "states no amount" in _payment(stack, held["no amount"]).held_reason
    assert "not more than zero" in _payment(stack, held["zero"]).held_reason

    listed = {t["checkoutId"]: t for t in stack.graphql(TRANSACTIONS)["data"]["recentTransactions"]}
    for case, checkout_id in held.items():
        assert listed[checkout_id]["state"] == "held", case
        assert listed[checkout_id]["stateText"] == "Held for review", case
        assert "PayCombat said" in listed[checkout_id]["heldReason"], case
    logged = [r.getMessage() for r in caplog.records if "held" in r.getMessage()]
    assert any(held["zero"] in line and "not more than zero" in line for line in logged), logged


def test_a_positive_amount_below_the_total_is_still_a_partial_charge(stack: Stack) -> None:
    stack.settled_checkout("success")
    checkout_id = _open_checkout(stack)
    body = stack.payin_success_for(checkout_id, "5b0c7e8e-0000-4000-8000-000000000200")
    partial = re.sub(r'"amount":[^,}]+', '"amount":10', body)

    assert stack.deliver_signed(partial.encode()).json()["status"] is True

    stack.wait_until(lambda: bool(_charges(stack, checkout_id)))
    assert _charges(stack, checkout_id) == [("CHARGE_SUCCESS", Decimal("10.00"))]
    row = _payment(stack, checkout_id)
    assert row.state == "succeeded" and row.amount_mismatch and row.held_reason is None


def test_a_held_payment_is_settled_by_a_later_proven_success(stack: Stack) -> None:
    stack.settled_checkout("success")
    initialize = initialize_payload(stack.saleor)
    checkout_id = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)["pspReference"]
    body = stack.payin_success_for(checkout_id, "5b0c7e8e-0000-4000-8000-000000000300")
    stack.deliver_signed(re.sub(r'"amount":[^,}]+', '"amount":0', body).encode())
    assert _payment(stack, checkout_id).held_reason
    # The shopper comes back meanwhile: pending, never sent to the hosted page to pay a second time.
    answer = stack.call(SyncEvent.TRANSACTION_PROCESS_SESSION, process_payload(stack.saleor, initialize))
    assert answer["result"] == "CHARGE_REQUEST" and answer["data"]["status"] == "held"

    stack.deliver_signed(body.encode())

    stack.wait_until(lambda: bool(_charges(stack, checkout_id)))
    assert _charges(stack, checkout_id) == [("CHARGE_SUCCESS", Decimal("49.99"))]
    assert _payment(stack, checkout_id).held_reason is None


def _lookup_answers(stack: Stack, record: dict[str, object]) -> None:
    """PayCombat's Retrieve Payin answers ``record`` (once) whatever payin was asked for."""
    envelope = json.dumps({"status": True, "message": "OK", "data": record})
    stack.sandbox.add_fault("/api/v1/payin/retrieve-payin/", status=200, body=envelope, count=1)


def test_a_lookup_about_another_payin_never_settles_this_payment(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """The attack of issue 19: Retrieve Payin answered another payin id and another checkout's
    reference, and the unpaid order was marked paid."""
    stack.settled_checkout("success")
    other_payin = json.loads(stack.delivery("PAYIN_SUCCESS")["payload"])
    stack.sandbox.drop_webhooks(account=ACCOUNT.name)
    checkout_id = _open_checkout(stack)
    asked = "5b0c7e8e-0000-4000-8000-0000000004aa"
    ours = _payment(stack, checkout_id).merchant_reference
    with stack.ctx.database.session() as session:  # as if a PAYIN PENDING webhook had named its payin
        row = session.query(PaymentSession).filter_by(checkout_id=checkout_id).one()
        row.payin_id = asked
        row.created_at = utcnow() - timedelta(minutes=5)
    caplog.set_level(logging.INFO)
    reconciler = Reconciler(stack.ctx, on_report_enqueued=stack.app.state.outbox.notify)
    other_checkout = {**other_payin, "id": asked, "checkout_id": "another-checkout"}
    for case, record in {
        "another payin id and reference": {**other_payin, "id": "5b0c7e8e-0000-4000-8000-0000000004bb"},
        "the asked id, another reference": {**other_payin, "id": asked},
        "the asked id and our reference, another checkout": {
            **other_checkout, "transaction": ours, "order_reference": ours,
        },
    }.items():  # fmt: skip
        _lookup_answers(stack, record)
        list(reconciler.run_pass())
        assert _charges(stack, checkout_id) == [], case
        assert _payment(stack, checkout_id).state == "action_required", case
    assert [r for r in stack.saleor.reports if r["pspReference"] == checkout_id] == []
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "not about this payment" in logged

    # Ours, but with an amount that proves nothing: held, and the reconciler says so.
    proper = {**other_payin, "id": asked, "transaction": ours, "order_reference": ours}
    _lookup_answers(stack, {**proper, "amount": 0})
    (finding,) = [found for found in reconciler.run_pass() if found.checkout_id == checkout_id]
    assert finding.outcome.startswith("held for review, nothing reported: payin " + asked), finding
    assert _charges(stack, checkout_id) == []

    # The payin PayCombat does show for this payment, asked for by its id, still settles it.
    _lookup_answers(stack, proper)
    list(reconciler.run_pass())
    stack.wait_until(lambda: bool(_charges(stack, checkout_id)))
    assert _charges(stack, checkout_id) == [("CHARGE_SUCCESS", Decimal("49.99"))]


def test_a_signed_webhook_naming_another_checkout_is_ignored(stack: Stack) -> None:
    stack.settled_checkout("success")
    checkout_id = _open_checkout(stack)
    body = json.loads(stack.payin_success_for(checkout_id, "5b0c7e8e-0000-4000-8000-000000000500"))
    foreign = json.dumps({**body, "checkout_id": "another-checkout"}, separators=(",", ":"))
    # Ours in `transaction`, another payment of this app's in `order_reference`: not ours to settle.
    mixed = json.dumps({**body, "order_reference": "SALEOR-someone-elses-reference"}, separators=(",", ":"))

    for crafted in (foreign, mixed):
        assert stack.deliver_signed(crafted.encode()).status_code == 200

    assert _charges(stack, checkout_id) == []
    assert _payment(stack, checkout_id).state == "action_required"


def test_a_payin_with_our_reference_beside_a_value_of_paycombats_own_settles(stack: Stack) -> None:
    """PayCombat's documented payin example carries different values in `transaction` and
    `order_reference`: one may be PayCombat's own. Ours in one field is enough, so long as the other
    names no other payment of this app's."""
    stack.settled_checkout("success")
    checkout_id = _open_checkout(stack)
    ours = _payment(stack, checkout_id).merchant_reference
    body = json.loads(stack.payin_success_for(checkout_id, "5b0c7e8e-0000-4000-8000-000000000600"))
    documented_shape = {**body, "transaction": ours, "order_reference": "invoice_19032025_14414443"}

    response = stack.deliver_signed(json.dumps(documented_shape, separators=(",", ":")).encode())

    assert response.status_code == 200
    stack.wait_until(lambda: bool(_charges(stack, checkout_id)))
    assert _charges(stack, checkout_id) == [("CHARGE_SUCCESS", Decimal("49.99"))]
    assert _payment(stack, checkout_id).state == "succeeded"
