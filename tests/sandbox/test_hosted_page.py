"""The hosted checkout page over plain HTTP (no JavaScript): see, pay, fail, cancel or let it expire;
the browser is sent back to the shop and a signed webhook reaches a local receiver."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests

from paycombat_gateway.paycombat.signing import compute_signature, js_stringify
from paycombat_gateway.sandbox.server import RunningSandbox
from tests.sandbox.conftest import ACCOUNT, Api
from tests.sandbox.page import open_page, read_page
from tests.support.receiver import Receiver

PAYIN_FIELDS = {
    "id", "payin_id_finmo", "merchant_id", "status", "amount", "original_amount", "amount_type", "currency",
    "transaction", "transaction_date", "payment_method", "order_reference", "customer_full_name", "reply_code",
    "brand", "credit_type", "payer_id", "recon_id", "order_reference_1", "order_reference_2",
    "platform_identifier", "trx_type", "customer_email", "customer_phone", "customer_personal_number",
    "fee_taken", "fee_expected", "charge_back", "rolling_serve", "retrieval", "is_black_list", "ip_address",
    "billing_address_country", "billing_address_city", "billing_address_zip_code", "billing_address", "bin",
    "is_3ds", "bank_psp", "created_at", "updated_at", "deleted_at", "payment_date", "type",
}  # fmt: skip


@pytest.fixture
def browser() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def _signed_webhook(receiver: Receiver, count: int = 1) -> list[dict[str, object]]:
    """The deliveries' bodies, after checking each X-Signature is HMAC-SHA256 of the exact bytes."""
    bodies = []
    for delivery in receiver.wait_for(count):
        assert delivery.headers["content-type"] == "application/json"
        assert delivery.headers["x-signature"] == compute_signature(delivery.body, ACCOUNT.signature_key)
        body = json.loads(delivery.body, parse_float=Decimal)
        assert delivery.body == js_stringify(body).encode("utf-8")  # JSON.stringify's bytes
        bodies.append(body)
    return bodies


def test_pay_on_the_page_redirects_to_completed_and_signs_the_webhook(
    api: Api, sandbox: RunningSandbox, receiver: Receiver, browser: requests.Session
) -> None:
    checkout = api.create_checkout(webhook_url=receiver.url)
    page = open_page(browser, checkout["checkout_url"])
    assert page.status == 200 and page.scripts == 0
    assert page.test_ids["amount"] == "91.00 AUD" and page.test_ids["currency"] == "AUD"
    assert "SALEOR-test-1" in page.text and "Shop One" in page.text
    assert page.radios["method"] == ["au_bank_npp", "card"]
    assert page.buttons == {
        "pay": "Pay 91.00 AUD",
        "fail": "Fail payment",
        "cancel": "Cancel",
        "expire": "Let it expire",
    }
    assert all(page.labels.get(input_id) for input_id in page.input_ids), "every control has a label"

    paid = page.submit(browser, "pay", method="au_bank_npp")
    assert paid.status_code == 303 and paid.headers["location"] == "https://shop.example/ok"

    (payin,) = _signed_webhook(receiver)
    assert set(payin) == PAYIN_FIELDS and "checkout_id" not in payin
    assert payin["status"] == "SUCCESS" and payin["type"] == "PAYIN" and payin["credit_type"] == "PAYIN"
    assert payin["amount"] == Decimal("91") and payin["original_amount"] == Decimal("91")
    assert payin["amount_type"] == "AUD" and payin["currency"] == "FIAT"
    assert payin["payment_method"] == "au_bank_npp" and payin["merchant_id"] == ACCOUNT.merchant_id
    assert payin["transaction"] == payin["order_reference"] == "SALEOR-test-1"
    assert payin["customer_full_name"] == "Zoë O'Brien" and payin["payment_date"] is not None
    assert uuid.UUID(str(payin["id"])) and str(payin["payin_id_finmo"]).startswith("payin_")
    assert api.data("retrieve_payin", payin_id=payin["id"]) == payin

    again = open_page(browser, checkout["checkout_url"])
    assert again.status == 200 and again.action is None and "completed" in again.test_ids["state"]
    twice = page.submit(browser, "pay", method="card")  # the old form, submitted again
    assert twice.status_code == 409 and "completed" in read_page(twice).test_ids["state"]
    assert sandbox.wait_for_webhooks()
    assert sandbox.store.count("payin") == 1 and len(receiver.received) == 1


@pytest.mark.parametrize(
    ("button", "location", "event", "state"),
    [
        ("fail", "https://shop.example/failed", "PAYIN_FAILED", "FAILED"),
        ("expire", "https://shop.example/expired", "PAYIN_EXPIRED", "EXPIRED"),
        ("cancel", "https://shop.example/cancelled", None, "CANCELLED"),
    ],
)
def test_other_endings_redirect_to_their_urls(
    api: Api,
    sandbox: RunningSandbox,
    receiver: Receiver,
    browser: requests.Session,
    button: str,
    location: str,
    event: str | None,
    state: str,
) -> None:
    checkout = api.create_checkout(webhook_url=receiver.url)
    response = open_page(browser, checkout["checkout_url"]).submit(browser, button)
    assert response.status_code == 303 and response.headers["location"] == location
    assert sandbox.store.get("checkout", checkout["id"])["_status"] == state  # type: ignore[index]
    assert sandbox.wait_for_webhooks()
    if event is None:  # a cancelled checkout sends no webhook (contract inference hosted_page_cancel)
        assert receiver.received == [] and sandbox.store.count("payin") == 0
    else:
        (payin,) = _signed_webhook(receiver)
        assert payin["status"] == event.removeprefix("PAYIN_") and payin["payment_date"] is None
        assert [d["event"] for d in sandbox.deliveries()] == [event]
    assert state.lower() in open_page(browser, checkout["checkout_url"]).test_ids["state"]


def test_redirect_url_is_the_fallback_and_without_urls_the_page_shows_the_result(
    api: Api, browser: requests.Session
) -> None:
    partial = api.create_checkout(advanced_redirect_url={"completed_url": "https://shop.example/ok"})
    failed = open_page(browser, partial["checkout_url"]).submit(browser, "fail")
    assert failed.status_code == 303 and failed.headers["location"] == "https://shop.example/return"

    bare = api.create_checkout(redirect_url=None, advanced_redirect_url=None)
    paid = open_page(browser, bare["checkout_url"]).submit(browser, "pay")
    assert paid.status_code == 200
    assert "completed" in read_page(paid).test_ids["state"]


def test_page_shows_the_methods_and_exponent_of_the_currency(api: Api, browser: requests.Session) -> None:
    items = [{"product_name": "Chair", "quantity": 1, "unit_price": Decimal("1234.5")}]
    checkout = api.create_checkout(
        amount=Decimal("1234.5"), currency="EUR", country_code="EU", order_items=items
    )
    page = open_page(browser, checkout["checkout_url"])
    assert page.test_ids["amount"] == "1,234.50 EUR"
    assert page.radios["method"] == ["eu_bank_sct_eur", "card"] and "au_bank_npp" not in page.text
    assert page.buttons["pay"] == "Pay 1,234.50 EUR"
    bound = api.data(
        "create_new_checkout", {"checkout_token": checkout["checkout_token"], "payin_method_name": "card"}
    )
    assert open_page(browser, bound["checkout_url"]).checked == {"method": "card"}


def test_a_method_outside_the_currency_is_refused_on_the_page(
    api: Api, sandbox: RunningSandbox, browser: requests.Session
) -> None:
    checkout = api.create_checkout()
    response = open_page(browser, checkout["checkout_url"]).submit(browser, "pay", method="eu_bank_sct_eur")
    assert response.status_code == 422 and read_page(response).test_ids["error"]
    assert sandbox.store.count("payin") == 0
    assert open_page(browser, checkout["checkout_url"]).action is not None  # still open


def test_unknown_links_are_404(api: Api, sandbox: RunningSandbox, browser: requests.Session) -> None:
    checkout = api.create_checkout()
    assert (
        open_page(
            browser, f"{sandbox.base_url}/checkout/?token={'0' * 64}&identifier={ACCOUNT.identifier}"
        ).status
        == 404
    )
    wrong_merchant = checkout["checkout_url"].replace(ACCOUNT.identifier, "snd_someone_else")
    assert open_page(browser, wrong_merchant).status == 404
    assert open_page(browser, f"{sandbox.base_url}/checkout/").status == 404
    forged = browser.post(
        f"{sandbox.base_url}/checkout/action", data={"token": "0" * 64, "action": "pay"}, timeout=5
    )
    assert forged.status_code == 404


def test_the_page_needs_nothing_from_outside(api: Api, browser: requests.Session) -> None:
    page = open_page(browser, api.create_checkout()["checkout_url"])
    (stylesheet,) = page.stylesheets
    assert stylesheet.startswith(api.base_url)
    css = browser.get(stylesheet, timeout=5)
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    assert "https://" not in page.text.replace("https://shop.example", "")
