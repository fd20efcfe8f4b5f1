"""After the sale, end to end: Saleor asks for refunds, the merchant carries them out in PayCombat's
dashboard and answers on the CLI, and Saleor's transaction ends up as its order page should show it.

Every flow runs against the Saleor double as 3.21 and as 3.23 (which stores a result-less answer's
actions verbatim, as 3.22 and later do): the order page must stay readable on both."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from paycombat_gateway.cli import main
from paycombat_gateway.saleor.webhooks import SyncEvent
from paycombat_gateway.storage.models import RefundOwed
from tests.support.saleor_double import action_payload, initialize_payload
from tests.support.stack import Stack, run_stack_on


@pytest.fixture(params=["3.21", "3.23"])
def saleor_version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database(request: pytest.FixtureRequest, tmp_path: Path, saleor_version: str) -> Iterator[Stack]:
    """The stack on either database (the pending-refund flows also run on PostgreSQL)."""
    with run_stack_on(request.param, tmp_path, saleor_version=saleor_version) as running:
        yield running


@pytest.fixture
def cli(stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """``paycombat-gateway …`` against the running app's database: (exit code, stdout, stderr)."""
    settings = stack.settings
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("APP_SECRET_KEY", settings.app_secret_key or "")
    monkeypatch.setenv("APP_URL", settings.app_url)
    monkeypatch.setenv("DATA_DIR", str(settings.data_dir))

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _ask_refund(
    stack: Stack, initialize: dict[str, Any], amount: str, *, with_order: bool = True, **extra: Any
) -> dict[str, Any]:
    payload = action_payload(
        stack.saleor, "TransactionRefundRequested", initialize, amount=amount, with_order=with_order
    )
    payload.update(extra)
    return stack.call(SyncEvent.TRANSACTION_REFUND_REQUESTED, payload)


def _listed(cli: Any) -> dict[str, dict[str, Any]]:
    code, out, _ = cli("refunds", "list", "--json")
    assert code == 0
    return {refund["id"]: refund for refund in json.loads(out)}


def _reports(stack: Stack, event_type: str) -> list[dict[str, Any]]:
    stack.wait_until(stack.outbox_settled)
    return stack.reports(event_type)


def test_the_order_page_names_links_and_offers_the_right_buttons_in_every_state(stack: Stack) -> None:
    initialize = initialize_payload(stack.saleor, data={"return_url": "https://shop.example.com/r"})
    transaction_id = initialize["transaction"]["id"]
    checkout_id = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)["pspReference"]

    open_checkout = stack.order_page(transaction_id)
    assert open_checkout["availableActions"] == ["CANCEL"]
    assert open_checkout["name"] == "PayCombat"
    assert open_checkout["externalUrl"] == f"{stack.app_url}/dashboard?payment={checkout_id}"

    stack.sandbox.settle(checkout_id, "success", payin_method_name="card")
    stack.wait_until(lambda: bool(stack.reports("CHARGE_SUCCESS")))
    paid = stack.order_page(transaction_id)
    assert paid["availableActions"] == ["REFUND"]
    assert paid["name"] == "PayCombat · card"
    (charge,) = stack.reports("CHARGE_SUCCESS")
    assert charge["externalUrl"] == f"{stack.app_url}/dashboard?payment={checkout_id}"
    assert charge["message"].endswith(", card).")

    failed, failed_id = stack.settled_checkout("failed")
    assert stack.order_page(failed["transaction"]["id"])["availableActions"] == []
    (failure,) = [r for r in stack.reports("CHARGE_FAILURE") if r["pspReference"] == failed_id]
    assert failure["message"].endswith("failed.")

    unpaid = initialize_payload(stack.saleor)
    stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, unpaid)
    cancelled = stack.call(
        SyncEvent.TRANSACTION_CANCELATION_REQUESTED,
        action_payload(stack.saleor, "TransactionCancelationRequested", unpaid),
    )
    assert cancelled["message"] == "The PayCombat checkout was cancelled."
    assert stack.order_page(unpaid["transaction"]["id"])["availableActions"] == []
    assert stack.saleor.invalid_documents == []


def test_a_krw_virtual_account_is_named_by_its_bank(stack: Stack) -> None:
    initialize = initialize_payload(
        stack.saleor, amount="15000", currency="KRW",
        data={"return_url": "https://shop.example.com/r", "bank": "KB국민은행"},
    )  # fmt: skip
    initialize["sourceObject"]["channel"]["currencyCode"] = "KRW"
    answer = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)
    assert answer["result"] == "CHARGE_ACTION_REQUIRED", answer
    page = stack.order_page(initialize["transaction"]["id"])
    assert page["name"] == "PayCombat · KB국민은행 virtual account"


def test_a_full_refund_confirmed_on_the_cli_is_reported_once(stack: Stack, cli: Any) -> None:
    initialize, checkout_id = stack.settled_checkout("success")
    transaction_id = initialize["transaction"]["id"]

    answer = _ask_refund(stack, initialize, "49.99")

    assert answer.keys() == {"pspReference"}  # pending in Saleor: a REFUND_REQUEST, no actions
    refund_id = answer["pspReference"]
    assert refund_id.startswith("rf_")
    assert stack.order_page(transaction_id)["availableActions"] == []
    listed = _listed(cli)[refund_id]
    assert listed["amount"] == "49.99" and listed["currency"] == "USD" and listed["state"] == "owed"
    assert listed["payin_id"] and listed["checkout_id"] == checkout_id and listed["source_type"] == "order"
    code, text, _ = cli("refunds", "list")
    assert code == 0 and "Refund Request" in text and listed["payin_id"] in text

    code, out, _ = cli("refunds", "confirm", refund_id, "--reference", "PC-RF-1001")
    assert code == 0 and "marked refunded" in out and "REFUND_SUCCESS" in out
    code, again, _ = cli("refunds", "confirm", refund_id, "--reference", "PC-RF-1001")
    assert code == 0 and "already marked refunded" in again

    (report,) = _reports(stack, "REFUND_SUCCESS")
    assert report["id"] == transaction_id and report["pspReference"] == refund_id
    assert report["amount"] == Decimal("49.99")
    assert report["message"] == (
        "Refunded 49.99 USD through PayCombat's dashboard (PayCombat refund reference PC-RF-1001)."
    )
    assert report["availableActions"] == []
    assert stack.order_page(transaction_id)["availableActions"] == []
    assert _listed(cli)[refund_id]["state"] == "refunded"
    assert _listed(cli)[refund_id]["paycombat_reference"] == "PC-RF-1001"


def test_two_partial_refunds_and_an_over_refund_refused_naming_what_is_left(stack: Stack, cli: Any) -> None:
    initialize, _ = stack.settled_checkout("success")
    transaction_id = initialize["transaction"]["id"]

    first = _ask_refund(stack, initialize, "20.00")
    assert "actions" not in first
    assert stack.order_page(transaction_id)["availableActions"] == ["REFUND"]
    too_much = _ask_refund(stack, initialize, "30.00")
    assert too_much["result"] == "REFUND_FAILURE"
    assert "30.00 USD is more than the 29.99 USD left to refund" in too_much["message"]
    assert too_much["actions"] == ["REFUND"]
    second = _ask_refund(stack, initialize, "29.99")
    assert stack.order_page(transaction_id)["availableActions"] == []
    assert _ask_refund(stack, initialize, "0.01")["message"].startswith(
        "OVER_REFUND: 0.01 USD is more than the 0.00 USD left"
    )

    assert cli("refunds", "confirm", first["pspReference"])[0] == 0
    assert cli("refunds", "confirm", second["pspReference"], "--reference", "PC-2")[0] == 0

    reports = _reports(stack, "REFUND_SUCCESS")
    assert sorted((r["pspReference"], r["amount"]) for r in reports) == sorted(
        [(first["pspReference"], Decimal("20.00")), (second["pspReference"], Decimal("29.99"))]
    )
    assert sum(r["amount"] for r in reports) == Decimal("49.99")
    assert stack.order_page(transaction_id)["availableActions"] == []


def test_a_declined_refund_is_reported_and_frees_its_amount(stack: Stack, cli: Any) -> None:
    initialize, _ = stack.settled_checkout("success")
    refund_id = _ask_refund(stack, initialize, "49.99")["pspReference"]

    code, _, err = cli("refunds", "decline", refund_id, "--reason", "  ")
    assert code == 2 and "Say why" in err
    code, out, _ = cli(
        "refunds", "decline", refund_id, "--reason", "PayCombat refused: payin older than 180 days"
    )
    assert code == 0 and "REFUND_FAILURE" in out
    code, _, err = cli("refunds", "confirm", refund_id)
    assert code == 2 and "already marked declined" in err

    (report,) = _reports(stack, "REFUND_FAILURE")
    assert report["pspReference"] == refund_id and report["amount"] == Decimal("49.99")
    assert report["message"] == (
        "The refund of 49.99 USD was declined: PayCombat refused: payin older than 180 days."
    )
    assert report["availableActions"] == ["REFUND"]
    assert stack.order_page(initialize["transaction"]["id"])["availableActions"] == ["REFUND"]
    assert "pspReference" in _ask_refund(stack, initialize, "49.99")  # the amount can be asked for again
    assert stack.reports("REFUND_SUCCESS") == []


def test_fund_release_of_a_paid_checkout_without_an_order_is_refunded_the_same_way(
    stack: Stack, cli: Any
) -> None:
    initialize, _ = stack.settled_checkout("success")

    answer = _ask_refund(stack, initialize, "49.99", with_order=False)

    refund = _listed(cli)[answer["pspReference"]]
    assert refund["source_type"] == "checkout" and refund["source_id"] == initialize["sourceObject"]["id"]
    assert refund["requested_by"] == "Saleor (fund release of a checkout never completed)"
    assert cli("refunds", "confirm", answer["pspReference"])[0] == 0
    (report,) = _reports(stack, "REFUND_SUCCESS")
    assert report["amount"] == Decimal("49.99")


def test_refunds_of_unpaid_unknown_or_redelivered_requests(stack: Stack, cli: Any) -> None:
    unpaid = initialize_payload(stack.saleor)
    stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, unpaid)
    refused = _ask_refund(stack, unpaid, "49.99")
    assert refused["result"] == "REFUND_FAILURE" and refused["message"].startswith("NOT_PAID: ")
    assert refused["actions"] == ["CANCEL"]

    stranger = initialize_payload(stack.saleor)
    unknown = _ask_refund(stack, stranger, "1.00")
    assert unknown["result"] == "REFUND_FAILURE" and unknown["message"].startswith("PAYMENT_NOT_FOUND: ")

    paid, _ = stack.settled_checkout("success")
    principal = {"__typename": "User", "id": "VXNlcjox"}
    issued = {"issuedAt": "2026-12-01T10:00:00+00:00", "issuingPrincipal": principal}
    first = _ask_refund(stack, paid, "10.00", **issued)
    redelivered = _ask_refund(stack, paid, "10.00", **issued)
    assert redelivered["pspReference"] == first["pspReference"]
    with stack.ctx.database.session() as session:
        assert session.query(RefundOwed).count() == 1
    assert _listed(cli)[first["pspReference"]]["requested_by"] == "staff user VXNlcjox"
    code, _, err = cli("refunds", "confirm", "rf_doesnotexist")
    assert code == 2 and "No refund has the id 'rf_doesnotexist'" in err


def test_a_partial_refund_in_won_keeps_the_currency_without_decimals(stack: Stack, cli: Any) -> None:
    initialize = initialize_payload(
        stack.saleor, amount="15000", currency="KRW",
        data={"return_url": "https://shop.example.com/r", "bank": "KDB산업은행"},
    )  # fmt: skip
    checkout_id = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)["pspReference"]
    stack.sandbox.settle(checkout_id, "success")
    stack.wait_until(lambda: bool(stack.reports("CHARGE_SUCCESS")))

    fractional = _ask_refund(stack, initialize, "0.5")
    assert fractional["result"] == "REFUND_FAILURE" and fractional["message"].startswith("INVALID_AMOUNT")
    refund_id = _ask_refund(stack, initialize, "5000")["pspReference"]
    assert _listed(cli)[refund_id]["amount"] == "5000"
    assert "10000 KRW left" in _ask_refund(stack, initialize, "10001")["message"]
    assert cli("refunds", "confirm", refund_id)[0] == 0

    (report,) = _reports(stack, "REFUND_SUCCESS")
    assert report["amount"] == Decimal("5000") and report["message"].startswith("Refunded 5000 KRW")


def test_a_pending_partial_refund_leaves_the_order_readable_with_its_refund_button(
    any_database: Stack,
) -> None:
    """Issue 19: a partial refund answered pending made Saleor 3.22+ store ``REFUND`` verbatim, and
    every read of the transaction's actions failed (the Dashboard's order page was a 404)."""
    stack = any_database
    initialize, _ = stack.settled_checkout("success")
    transaction_id = initialize["transaction"]["id"]

    answer = _ask_refund(stack, initialize, "10.00")

    page = stack.order_page(transaction_id)  # raises UnreadableTransaction where Saleor would 404
    assert page["availableActions"] == ["REFUND"]
    assert answer.keys() == {"pspReference"}
    assert stack.saleor.stored_actions(transaction_id) == ["refund"]
    (update,) = [
        call["transactionUpdate"]
        for call in stack.saleor.graphql_calls
        if "transactionUpdate" in call and call["transactionUpdate"]["id"] == transaction_id
    ][-1:]
    assert update["transaction"]["availableActions"] == ["REFUND"]


def test_a_granted_refund_sent_for_transfer_is_owed_and_the_order_stays_readable(
    stack: Stack, cli: Any
) -> None:
    """Dashboard 3.23: a line-item refund saved with ``orderGrantRefundCreate`` and sent with
    ``transactionRequestRefundForGrantedRefund`` arrives with its grant."""
    initialize, _ = stack.settled_checkout("success")
    transaction_id = initialize["transaction"]["id"]
    principal = {"__typename": "User", "id": "VXNlcjoy"}

    answer = _ask_refund(
        stack, initialize, "49.99", grantedRefund={"id": "T3JkZXJHcmFudGVkUmVmdW5kOjE="},
        issuingPrincipal=principal,
    )  # fmt: skip

    assert answer.keys() == {"pspReference"}
    assert stack.order_page(transaction_id)["availableActions"] == []
    with stack.ctx.database.session() as session:
        (owed,) = session.query(RefundOwed).all()
        assert owed.granted_refund_id == "T3JkZXJHcmFudGVkUmVmdW5kOjE="
    listed = _listed(cli)[answer["pspReference"]]
    assert listed["requested_by"] == "staff user VXNlcjoy" and listed["order_number"] == "1"
    code, text, _ = cli("refunds", "list")
    assert code == 0 and "order #1, asked by staff user VXNlcjoy" in text
    assert cli("refunds", "decline", answer["pspReference"], "--reason", "PayCombat refused")[0] == 0
    (report,) = _reports(stack, "REFUND_FAILURE")
    assert report["pspReference"] == answer["pspReference"]
    assert stack.order_page(transaction_id)["availableActions"] == ["REFUND"]


def test_a_void_of_an_unpaid_order_leaves_the_order_readable_without_buttons(stack: Stack) -> None:
    unpaid = initialize_payload(stack.saleor)
    checkout_id = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, unpaid)["pspReference"]
    assert stack.order_page(unpaid["transaction"]["id"])["availableActions"] == ["CANCEL"]
    order_id = stack.saleor.complete_checkout(unpaid["transaction"]["id"], "1042")  # an unpaid order

    voided = stack.call(
        SyncEvent.TRANSACTION_CANCELATION_REQUESTED,
        action_payload(stack.saleor, "TransactionCancelationRequested", unpaid, with_order=True),
    )

    assert voided["result"] == "CANCEL_SUCCESS"
    assert stack.order_page(unpaid["transaction"]["id"])["availableActions"] == []
    assert stack.saleor.stored_actions(unpaid["transaction"]["id"]) == []
    # The Dashboard page's activity list shows the voided payment's order, not "Checkout, no order yet".
    listed = stack.graphql("{ recentTransactions { checkoutId state orderId orderNumber } }")
    (voided_row,) = [t for t in listed["data"]["recentTransactions"] if t["checkoutId"] == checkout_id]
    assert voided_row == {
        "checkoutId": checkout_id,
        "state": "cancelled",
        "orderId": order_id,
        "orderNumber": "1042",
    }
