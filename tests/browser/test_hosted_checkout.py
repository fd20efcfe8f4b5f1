"""Issue 2's promise, in a real browser: create a payment request, open checkout_url, pay, and the
signed webhook arrives at a receiver; the shopper lands on the completed URL."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import Page, expect

from paycombat_gateway.paycombat.client import PaycombatClient
from paycombat_gateway.paycombat.contract import WebhookKind
from paycombat_gateway.paycombat.models import AdvancedRedirectUrl, PaymentRequest
from paycombat_gateway.paycombat.webhooks import verify_and_parse
from paycombat_gateway.sandbox.server import SandboxAccount, run_sandbox
from tests.browser.conftest import ARTIFACTS
from tests.support.receiver import run_receiver

ACCOUNT = SandboxAccount(x_token="snd_browser_xtoken_01", signature_key="snd_browser_sigkey_01")


def test_pay_on_the_hosted_page_in_a_browser(page: Page) -> None:
    with run_sandbox([ACCOUNT]) as sandbox, run_receiver() as receiver:
        done_url = receiver.url.replace("/hook", "/done")
        client = PaycombatClient(ACCOUNT.x_token, ACCOUNT.signature_key, sandbox.base_url)
        checkout = client.create_payment_request(
            PaymentRequest(
                amount=Decimal("25.50"),
                currency="AUD",
                country_code="AU",
                description="SALEOR-browser-1",
                webhook_url=receiver.url,
                advanced_redirect_url=AdvancedRedirectUrl(completed_url=done_url),
            )
        )
        page.goto(str(checkout.checkout_url))
        expect(page.get_by_test_id("amount")).to_have_text("25.50 AUD")
        page.get_by_label("au_bank_npp").check()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "sandbox-hosted-checkout.png"), full_page=True)
        with page.expect_request(lambda request: request.url.startswith(done_url)):
            page.get_by_role("button", name="Pay 25.50 AUD").click()
        (delivery,) = receiver.wait_for(1)
        event = verify_and_parse(delivery.body, delivery.headers["x-signature"], ACCOUNT.signature_key)
        assert event.kind is WebhookKind.PAYIN_SUCCESS
        assert event.amount == Decimal("25.50") and event.payment_method == "au_bank_npp"
