"""The local PayCombat: same API, checks auth like PayCombat, hosted page, signed webhooks with retries."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests

from paycombat_gateway.paycombat import errors
from paycombat_gateway.paycombat.client import PaycombatClient
from paycombat_gateway.paycombat.contract import WebhookKind
from paycombat_gateway.paycombat.models import AdvancedRedirectUrl, OrderItem, PaymentRequest
from paycombat_gateway.paycombat.signing import sign_body, verify_webhook_signature
from paycombat_gateway.paycombat.webhooks import verify_and_parse
from paycombat_gateway.sandbox.server import RunningSandbox, SandboxAccount, run_sandbox
from tests.support.receiver import run_receiver

ACCOUNT = SandboxAccount(x_token="snd_test_xtoken_0001", signature_key="snd_test_sigkey_0001", name="one")
OTHER = SandboxAccount(x_token="snd_test_xtoken_0002", signature_key="snd_test_sigkey_0002", name="two")


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with run_sandbox([ACCOUNT, OTHER], webhook_retry_delays=(0.05, 0.1, 0.2)) as running:
        yield running


def _client(sandbox: RunningSandbox, account: SandboxAccount = ACCOUNT) -> PaycombatClient:
    return PaycombatClient(account.x_token, account.signature_key, sandbox.base_url)


def _request(webhook_url: str | None = None, **overrides: object) -> PaymentRequest:
    values: dict[str, object] = {
        "amount": Decimal("91.00"),
        "currency": "AUD",
        "country_code": "AU",
        "description": "SALEOR-test-1",
        "redirect_url": "https://shop.example/return",
        "advanced_redirect_url": AdvancedRedirectUrl(completed_url="https://shop.example/ok"),
        "webhook_url": webhook_url,
        "order_items": [OrderItem(product_name="Widget", quantity=2, unit_price=Decimal("45.50"))],
    }
    values.update(overrides)
    return PaymentRequest(**values)  # type: ignore[arg-type]


def test_wrong_x_token_or_signature_is_401_and_stores_nothing(sandbox: RunningSandbox) -> None:
    body = _request().to_body()
    signed = sign_body(body, ACCOUNT.signature_key)
    url = f"{sandbox.base_url}/api/v1/checkout/payment-request"
    for headers in (
        {"X-token": "snd_wrong", "signature": signed.signature},
        {"X-token": ACCOUNT.x_token, "signature": "0" * 64},
        {"X-token": ACCOUNT.x_token},
    ):
        response = requests.post(
            url, data=signed.payload, headers={**headers, "Content-Type": "application/json"}, timeout=5
        )
        assert response.status_code == 401
        assert response.json()["status"] is False
    assert sandbox.store.count("checkout") == 0
    with pytest.raises(errors.AuthenticationError):
        PaycombatClient(ACCOUNT.x_token, "snd_wrong_key_000", sandbox.base_url).create_payment_request(
            _request()
        )
    assert sandbox.store.count("checkout") == 0


def test_required_fields_and_exact_totals_are_validated(sandbox: RunningSandbox) -> None:
    url = f"{sandbox.base_url}/api/v1/checkout/payment-request"
    for body in (
        {"currency": "AUD", "country_code": "AU"},
        {"amount": 10.5, "currency": "KRW", "country_code": "KR"},
        {
            "amount": 10,
            "currency": "AUD",
            "country_code": "AU",
            "order_items": [{"product_name": "x", "quantity": 1, "unit_price": 9}],
        },
        {"amount": 10, "currency": "AUD", "country_code": "AU", "redirect_url": "javascript:x"},
    ):
        signed = sign_body(body, ACCOUNT.signature_key)
        response = requests.post(
            url,
            data=signed.payload,
            headers={"X-token": ACCOUNT.x_token, "signature": signed.signature},
            timeout=5,
        )
        assert response.status_code == 422, body
        assert response.json()["status"] is False
    assert sandbox.store.count("checkout") == 0


def test_hosted_page_pay_redirects_and_sends_a_signed_webhook(sandbox: RunningSandbox) -> None:
    with run_receiver() as receiver:
        checkout = _client(sandbox).create_payment_request(_request(webhook_url=receiver.url))
        assert checkout.checkout_url and checkout.checkout_url.startswith(
            sandbox.base_url + "/checkout/?token="
        )
        assert ACCOUNT.x_token not in checkout.checkout_url
        page = requests.get(checkout.checkout_url, timeout=5)
        assert page.status_code == 200
        assert "91.00" in page.text and "AUD" in page.text and "au_bank_npp" in page.text
        action = re.search(r'action="([^"]+)"', page.text)
        assert action is not None
        paid = requests.post(
            action.group(1),
            data={"token": checkout.checkout_token, "action": "pay", "method": "au_bank_npp"},
            allow_redirects=False,
            timeout=5,
        )
        assert paid.status_code == 303
        assert paid.headers["location"] == "https://shop.example/ok"
        (delivery,) = receiver.wait_for(1)
        assert verify_webhook_signature(delivery.body, delivery.headers["x-signature"], ACCOUNT.signature_key)
        event = verify_and_parse(delivery.body, delivery.headers["x-signature"], ACCOUNT.signature_key)
        assert event.kind is WebhookKind.PAYIN_SUCCESS
        assert event.amount == Decimal("91.00") and event.currency == "AUD"
        assert event.references[0] == "SALEOR-test-1"
        assert "checkout_id" not in event.body
        again = requests.get(checkout.checkout_url, timeout=5)
        assert "completed" in again.text.lower()
        second = requests.post(
            action.group(1), data={"token": checkout.checkout_token, "action": "pay"}, timeout=5
        )
        assert second.status_code == 409


def test_krw_virtual_account_flow(sandbox: RunningSandbox) -> None:
    with run_receiver() as receiver:
        client = _client(sandbox)
        checkout = client.create_payment_request(
            _request(receiver.url, amount=Decimal("15000"), currency="KRW", country_code="KR", order_items=[])
        )
        assert checkout.checkout_token is not None
        with_va = client.create_virtual_account_krw(checkout.checkout_token, "KDB산업은행")
        assert with_va.payin_method_name == "KDB산업은행"
        account = client.get_va_bank_information_krw(checkout.checkout_token)
        assert account.bank_name == "KDB산업은행" and account.account_number
        page = requests.get(str(checkout.checkout_url), timeout=5).text
        assert str(account.account_number) in page and "15,000" in page
        sandbox.settle(checkout.id, "success")
        deliveries = receiver.wait_for(2)
        kinds = [
            verify_and_parse(d.body, d.headers["x-signature"], ACCOUNT.signature_key).kind for d in deliveries
        ]
        assert kinds == [WebhookKind.VA_REGISTER, WebhookKind.PAYIN_SUCCESS]
        success = json.loads(deliveries[1].body)
        assert (
            success["amount"] == 15000 and success["amount_type"] == "KRW" and success["currency"] == "FIAT"
        )


def test_bank_selection_is_validated(sandbox: RunningSandbox) -> None:
    client = _client(sandbox)
    usd = client.create_payment_request(
        _request(amount=Decimal("5.00"), currency="USD", country_code="US", order_items=[])
    )
    with pytest.raises(errors.InvalidRequestError):
        client.create_virtual_account_krw(str(usd.checkout_token), "KDB산업은행")


def test_webhooks_are_retried_while_the_receiver_fails(sandbox: RunningSandbox) -> None:
    with run_receiver(statuses=[500, 503]) as receiver:
        checkout = _client(sandbox).create_payment_request(_request(webhook_url=receiver.url))
        sandbox.settle(checkout.id, "failed")
        deliveries = receiver.wait_for(3)
        assert len({d.body for d in deliveries}) == 1
        assert sandbox.wait_for_webhooks()
        (record,) = sandbox.store.all("delivery")
        assert [attempt["status"] for attempt in record["attempts"]] == [500, 503, 200]
        assert record["delivered"] is True


def test_settle_api_amount_override_and_double_settle(sandbox: RunningSandbox) -> None:
    checkout = _client(sandbox).create_payment_request(_request())
    payin = sandbox.settle(checkout.id, "success", amount=Decimal("90.00"))
    assert Decimal(str(payin["amount"])) == Decimal("90.00")
    response = requests.post(
        f"{sandbox.base_url}/_sandbox/checkouts/{checkout.id}/settle", json={"outcome": "success"}, timeout=5
    )
    assert response.status_code == 409
    retrieved = _client(sandbox).retrieve_payin(payin["id"])
    assert retrieved.status == "SUCCESS" and retrieved.iso_currency == "AUD"


def test_accounts_are_isolated(sandbox: RunningSandbox) -> None:
    checkout = _client(sandbox).create_payment_request(_request())
    with pytest.raises(errors.NotFoundError):
        _client(sandbox, OTHER).get_detail_checkout(checkout.id)


def test_cancel_only_unpaid_checkouts(sandbox: RunningSandbox) -> None:
    client = _client(sandbox)
    unpaid = client.create_payment_request(_request())
    client.cancel_checkout(str(unpaid.checkout_token))
    paid = client.create_payment_request(_request())
    sandbox.settle(paid.id, "success")
    with pytest.raises(errors.InvalidRequestError) as caught:
        client.cancel_checkout(str(paid.checkout_token))
    assert caught.value.paycombat_message is not None and "already paid" in caught.value.paycombat_message


def test_faults_make_calls_fail_then_recover(sandbox: RunningSandbox) -> None:
    client = _client(sandbox)
    sandbox.add_fault("/api/v1/checkout/payment-request", status=503, count=1)
    with pytest.raises(errors.ServerError):
        client.create_payment_request(_request())
    sandbox.add_fault("/api/v1/checkout/payment-request", status=200, body="<html>oops</html>", count=1)
    with pytest.raises(errors.MalformedResponseError):
        client.create_payment_request(_request())
    assert client.create_payment_request(_request()).id
