"""The configuration API's refunds: listed with their steps, confirmed or declined from the page."""

from __future__ import annotations

from decimal import Decimal

from paycombat_gateway.saleor.webhooks import SyncEvent
from tests.support.saleor_double import action_payload
from tests.support.stack import Stack
from tests.web.test_config_api import _data

FIELDS = "id amount currency state payinId checkoutId sourceType requestedBy steps paycombatReference declineReason decidedBy"
CONFIRM = "mutation($id: String!, $ref: String) { confirmRefund(id: $id, reference: $ref) { ok message refund { state paycombatReference decidedBy } } }"
DECLINE = "mutation($id: String!, $reason: String!) { declineRefund(id: $id, reason: $reason) { ok message refund { state } } }"


def _ask(stack: Stack, initialize: dict[str, object], amount: str) -> str:
    payload = action_payload(
        stack.saleor, "TransactionRefundRequested", initialize, amount=amount, with_order=True
    )
    refund_id: str = stack.call(SyncEvent.TRANSACTION_REFUND_REQUESTED, payload)["pspReference"]
    return refund_id


def test_refunds_are_listed_with_steps_and_decided_from_the_page(stack: Stack) -> None:
    initialize, checkout_id = stack.settled_checkout("success")
    first, second = _ask(stack, initialize, "10.00"), _ask(stack, initialize, "5.50")

    (owed_first, owed_second) = _data(stack, f'{{ refunds(state: "owed") {{ {FIELDS} }} }}')["refunds"]
    assert [owed_first["id"], owed_second["id"]] == [first, second]
    assert (
        owed_first["amount"] == "10.00" and owed_first["currency"] == "USD" and owed_first["state"] == "owed"
    )
    assert owed_first["checkoutId"] == checkout_id and owed_first["sourceType"] == "order"
    assert any(owed_first["payinId"] in step for step in owed_first["steps"])
    assert "Refund Request" in owed_first["steps"][0]

    confirmed = _data(stack, CONFIRM, {"id": first, "ref": "PC-77"})["confirmRefund"]
    assert confirmed["ok"] and confirmed["refund"]["state"] == "refunded"
    assert confirmed["refund"]["decidedBy"] == "dashboard: admin@example.com"
    again = _data(stack, CONFIRM, {"id": first, "ref": "PC-77"})["confirmRefund"]
    assert again["ok"] and "Already marked refunded" in again["message"]
    no_reason = _data(stack, DECLINE, {"id": second, "reason": " "})["declineRefund"]
    assert no_reason["ok"] is False and "Say why" in no_reason["message"]
    declined = _data(stack, DECLINE, {"id": second, "reason": "Card closed"})["declineRefund"]
    assert declined["ok"] and declined["refund"]["state"] == "declined"
    missing = _data(stack, CONFIRM, {"id": "rf_nope"})["confirmRefund"]
    assert missing["ok"] is False and "No refund has the id" in missing["message"]

    stack.wait_until(stack.outbox_settled)
    assert [(r["pspReference"], r["amount"]) for r in stack.reports("REFUND_SUCCESS")] == [
        (first, Decimal("10.00"))
    ]
    assert [(r["pspReference"], r["amount"]) for r in stack.reports("REFUND_FAILURE")] == [
        (second, Decimal("5.50"))
    ]
    assert [r["state"] for r in _data(stack, f"{{ refunds {{ {FIELDS} }} }}")["refunds"]] == [
        "refunded",
        "declined",
    ]
