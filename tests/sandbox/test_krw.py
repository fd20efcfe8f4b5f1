"""KRW: pick a bank, see the virtual account to transfer to, transfer; VA Register Callback then PAYIN SUCCESS."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import requests

from paycombat_gateway.paycombat.contract import KRW_BANKS
from paycombat_gateway.paycombat.signing import compute_signature
from paycombat_gateway.sandbox.server import RunningSandbox
from tests.sandbox.conftest import ACCOUNT, Api, krw_request, parse
from tests.sandbox.page import open_page, read_page
from tests.support.receiver import Receiver


def _bodies(receiver: Receiver, count: int) -> list[dict[str, object]]:
    deliveries = receiver.wait_for(count)
    for delivery in deliveries:
        assert delivery.headers["x-signature"] == compute_signature(delivery.body, ACCOUNT.signature_key)
    return [json.loads(delivery.body, parse_float=Decimal) for delivery in deliveries]


def test_krw_on_the_hosted_page(api: Api, sandbox: RunningSandbox, receiver: Receiver) -> None:
    checkout = api.create_checkout(**krw_request(webhook_url=receiver.url))
    with requests.Session() as browser:
        page = open_page(browser, checkout["checkout_url"])
        assert page.test_ids["amount"] == "15,000 KRW"
        assert page.options["bank"] == list(KRW_BANKS)
        assert page.labels["bank"] == "Bank for the virtual account"
        assert "pay" not in page.buttons  # nothing to pay before there is an account to pay into
        assert {"fail", "cancel", "expire"} <= set(page.buttons)

        chosen = page.submit(browser, "select_bank", bank="신한은행")
        assert chosen.status_code == 303 and chosen.headers["location"] == checkout["checkout_url"]
        shown = open_page(browser, checkout["checkout_url"])
        assert shown.test_ids["bank-name"] == "신한은행"
        assert re.fullmatch(r"\d{14}", shown.test_ids["account-number"])
        assert shown.test_ids["account-holder"] == "PAYCOMBAT SANDBOX"
        assert shown.test_ids["transfer-amount"] == "15,000 KRW"
        assert shown.buttons["pay"] == "Simulate transfer received"

        (callback,) = _bodies(receiver, 1)
        assert callback["status"] == "APPROVED" and callback["bank_name"] == "신한은행"
        assert callback["account_number"] == shown.test_ids["account-number"]
        assert callback["amount"] == 15000 and callback["order_reference"] == "주문-KRW-1"

        paid = shown.submit(browser, "pay")
        assert paid.status_code == 303 and paid.headers["location"] == "https://shop.example/ok"
    callback_again, payin = _bodies(receiver, 2)
    assert callback_again == callback
    assert payin["status"] == "SUCCESS" and payin["amount"] == 15000 and payin["amount_type"] == "KRW"
    assert payin["payment_method"] == "신한은행" and payin["payer_id"] == callback["id"]
    assert payin["order_reference"] == "주문-KRW-1"
    assert [d["event"] for d in sandbox.deliveries()] == ["VA_REGISTER", "PAYIN_SUCCESS"]


def test_krw_through_the_api(api: Api, sandbox: RunningSandbox, receiver: Receiver) -> None:
    checkout = api.create_checkout(**krw_request(webhook_url=receiver.url))
    token = checkout["checkout_token"]
    missing = api.call("get_va_bank_information_krw", checkout_token=token)
    assert missing.status_code == 404 and parse(missing)["status"] is False

    with_va = api.data(
        "create_virtual_account_krw", {"checkout_token": token, "payin_method_name": "KDB산업은행"}
    )
    assert with_va["id"] == checkout["id"] and with_va["payin_method_name"] == "KDB산업은행"
    account = api.data("get_va_bank_information_krw", checkout_token=token)
    assert (
        account["bank_name"] == "KDB산업은행" and account["amount"] == 15000 and account["currency"] == "KRW"
    )
    assert account["expire_at"] == checkout["expire_at"]
    # the same request again: the same account and no second callback
    api.data("create_virtual_account_krw", {"checkout_token": token, "payin_method_name": "KDB산업은행"})
    assert api.data("get_va_bank_information_krw", checkout_token=token) == account
    assert sandbox.wait_for_webhooks()
    assert [d["event"] for d in sandbox.deliveries()] == ["VA_REGISTER"]

    payin = sandbox.settle(checkout["id"], "success")
    assert payin["payment_method"] == "KDB산업은행" and payin["payer_id"] == account["id"]
    assert [body["status"] for body in _bodies(receiver, 2)] == ["APPROVED", "SUCCESS"]


def test_virtual_accounts_only_for_krw_and_known_banks(api: Api, sandbox: RunningSandbox) -> None:
    usd = api.create_checkout(amount=5, currency="USD", country_code="US", order_items=[])
    not_krw = api.call(
        "create_virtual_account_krw",
        {"checkout_token": usd["checkout_token"], "payin_method_name": "KDB산업은행"},
    )
    assert not_krw.status_code == 400
    assert parse(not_krw) == {"status": False, "message": "Virtual accounts are only for KRW checkouts"}
    krw = api.create_checkout(**krw_request())
    unknown = api.call(
        "create_virtual_account_krw",
        {"checkout_token": krw["checkout_token"], "payin_method_name": "Bank of Nowhere"},
    )
    assert unknown.status_code == 422 and "payin_method_name" in parse(unknown)["errors"]
    assert sandbox.store.count("virtual_account") == 0


def test_paying_krw_without_a_bank_is_refused_on_the_page(api: Api, sandbox: RunningSandbox) -> None:
    checkout = api.create_checkout(**krw_request())
    with requests.Session() as browser:
        page = open_page(browser, checkout["checkout_url"])
        page.buttons["pay"] = "forced"  # a hand-made request; the page itself offers no Pay yet
        refused = page.submit(browser, "pay")
    assert refused.status_code == 400 and "bank" in read_page(refused).test_ids["error"].lower()
    assert sandbox.store.count("payin") == 0
