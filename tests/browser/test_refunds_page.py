"""The page's refunds in real Chromium: listed with the payin to copy, marked refunded or declined."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from paycombat_gateway.saleor.webhooks import SyncEvent
from tests.browser.conftest import ARTIFACTS, host_for
from tests.browser.test_dashboard_page import _app_frame
from tests.support.saleor_double import action_payload
from tests.support.stack import Stack, run_stack


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with run_stack(tmp_path) as running:
        yield running


def test_refunds_are_carried_out_from_the_page(stack: Stack, page: Page) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    initialize, checkout_id = stack.settled_checkout("success")
    asked = []
    for amount, with_order in (("20.00", True), ("5.00", False)):
        payload = action_payload(
            stack.saleor, "TransactionRefundRequested", initialize, amount=amount, with_order=with_order
        )
        asked.append(stack.call(SyncEvent.TRANSACTION_REFUND_REQUESTED, payload)["pspReference"])
    order_refund, released = asked
    payin_id = stack.delivery("PAYIN_SUCCESS")["payload"].split('"id":"')[1].split('"')[0]

    for url in host_for(stack, stack.saleor.dashboard_token()):
        page.goto(url)
        app = _app_frame(page)
        owed = app.locator("#refunds-owed > li.refund")
        expect(owed).to_have_count(2)
        first = app.locator(f'li.refund[data-refund="{order_refund}"]')
        expect(first.locator("h3")).to_have_text("20.00 USD to refund")
        expect(first.get_by_label("PayCombat payin id")).to_have_value(payin_id)
        expect(first.locator(".steps li").first).to_contain_text("Features › Transaction › Refund Request")
        second = app.locator(f'li.refund[data-refund="{released}"]')
        expect(second).to_contain_text("Checkout never completed (Saleor released the funds)")
        page.set_viewport_size({"width": 1100, "height": 2400})  # the section lies below the first screen
        page.wait_for_timeout(300)
        app.locator("#refunds").screenshot(path=str(ARTIFACTS / "08-refunds-owed.png"))

        first.get_by_label("PayCombat refund reference (optional)").fill("PC-RF-42")
        first.get_by_role("button", name="Mark refunded").click()
        expect(app.locator("#refunds-owed > li.refund")).to_have_count(1)
        expect(app.locator("#refunds .result.good").first).to_contain_text("Marked refunded")

        second = app.locator(f'li.refund[data-refund="{released}"]')
        second.get_by_role("button", name="Decline").click()
        expect(second.locator(".result")).to_have_text(
            "Enter why the refund is declined; Saleor shows it on the order."
        )
        second.get_by_label("Reason, if PayCombat will not refund").fill(
            "The shopper was refunded by bank transfer"
        )
        second.get_by_role("button", name="Decline").click()
        expect(app.locator("#no-refunds")).to_be_visible()
        done = app.locator("#refunds-done tbody tr")
        expect(done).to_have_count(2)
        expect(app.locator("#refunds-done")).to_contain_text("Refunded (PC-RF-42)")
        expect(app.locator("#refunds-done")).to_contain_text(
            "Declined: The shopper was refunded by bank transfer"
        )
        app.locator("#refunds").screenshot(path=str(ARTIFACTS / "09-refunds-done.png"))

    stack.wait_until(stack.outbox_settled)
    assert [(r["pspReference"], r["amount"]) for r in stack.reports("REFUND_SUCCESS")] == [
        (order_refund, Decimal("20.00"))
    ]
    assert [(r["pspReference"], r["amount"]) for r in stack.reports("REFUND_FAILURE")] == [
        (released, Decimal("5.00"))
    ]
    assert checkout_id


def test_the_order_pages_link_opened_outside_the_dashboard_names_the_payment(
    stack: Stack, page: Page
) -> None:
    page.goto(f"{stack.app_url}/dashboard?payment=co-123")
    expect(page.locator("#outside-payment")).to_contain_text("PayCombat payment co-123 from a Saleor order")
