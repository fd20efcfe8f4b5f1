"""Every client method against recorded PayCombat traffic (``cassettes/paycombat``), offline."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from paycombat_gateway.paycombat import errors
from paycombat_gateway.paycombat.client import PaycombatClient
from paycombat_gateway.paycombat.models import AdvancedRedirectUrl, OrderFee, OrderItem, PaymentRequest
from tests.paycombat.conftest import CASSETTES, CassetteSession, recording_secrets


def _aud_request() -> PaymentRequest:
    return PaymentRequest(
        amount=Decimal("100.00"),
        currency="AUD",
        country_code="AU",
        description="SALEOR-cassette-1",
        redirect_url="https://shop.example/return",
        advanced_redirect_url=AdvancedRedirectUrl(completed_url="https://shop.example/ok"),
        webhook_url="https://app.example/api/webhooks/paycombat/cfg",
        additional_info={"customer_name": "Zoë O'Brien"},
        order_items=[OrderItem(product_name="Widget – blue", quantity=2, unit_price=Decimal("45.50"))],
        order_fees=[OrderFee(fee_name="shipping", fee_amount=Decimal("9.00"))],
    )


def test_create_payment_request_and_get_detail(paycombat: CassetteSession) -> None:
    checkout = paycombat.client.create_payment_request(_aud_request())
    assert checkout.amount == Decimal("100") and checkout.currency == "AUD"
    assert checkout.checkout_url is not None and "token=" in checkout.checkout_url
    detail = paycombat.client.get_detail_checkout(checkout.id)
    assert detail.id == checkout.id and detail.description == "SALEOR-cassette-1"


def test_create_new_checkout_binds_the_method(paycombat: CassetteSession) -> None:
    checkout = paycombat.client.create_payment_request(_aud_request())
    updated = paycombat.client.create_new_checkout(str(checkout.checkout_token), "au_bank_npp")
    assert updated.payin_method_name == "au_bank_npp"


def test_get_all_checkout(paycombat: CassetteSession) -> None:
    created = paycombat.client.create_payment_request(_aud_request())
    listed = paycombat.client.get_all_checkout(page=1, limit=10)
    assert created.id in [checkout.id for checkout in listed]


def test_cancel_checkout(paycombat: CassetteSession) -> None:
    checkout = paycombat.client.create_payment_request(_aud_request())
    paycombat.client.cancel_checkout(str(checkout.checkout_token))
    with pytest.raises(errors.InvalidRequestError):
        paycombat.client.cancel_checkout(str(checkout.checkout_token))


def test_krw_virtual_account(paycombat: CassetteSession) -> None:
    checkout = paycombat.client.create_payment_request(
        PaymentRequest(amount=Decimal("15000"), currency="KRW", country_code="KR", description="SALEOR-krw-1")
    )
    updated = paycombat.client.create_virtual_account_krw(str(checkout.checkout_token), "KDB산업은행")
    assert updated.payin_method_name == "KDB산업은행"
    account = paycombat.client.get_va_bank_information_krw(str(checkout.checkout_token))
    assert account.bank_name == "KDB산업은행"
    assert account.account_number  # present (scrubbed in the cassette)


def test_create_and_retrieve_payin(paycombat: CassetteSession) -> None:
    payin = paycombat.client.create_payin(
        {"amount": 25, "currency": "AUD", "payin_method_name": "au_bank_npp", "description": "direct-1"}
    )
    assert payin.status == "PENDING" and payin.iso_currency == "AUD"
    assert paycombat.client.retrieve_payin(payin.id).id == payin.id


def test_find_a_payment_by_merchant_reference(paycombat: CassetteSession) -> None:
    """The reconciler's lookups: a checkout's payin by our reference (Get All Transaction), then by id."""
    checkout = paycombat.client.create_payment_request(
        PaymentRequest(amount=Decimal("42.50"), currency="AUD", country_code="AU", description="SALEOR-rec-1")
    )
    assert paycombat.client.get_all_transaction(reference="SALEOR-rec-1") == []
    if paycombat.settle is not None:  # recording against the sandbox: the shopper pays in between
        paycombat.settle(checkout.id, "success")
    (payin,) = paycombat.client.get_all_transaction(reference="SALEOR-rec-1")
    assert payin.status == "SUCCESS" and payin.amount == Decimal("42.5") and payin.iso_currency == "AUD"
    assert payin.transaction == "SALEOR-rec-1"
    assert paycombat.client.find_transaction_by_id(payin.id).status == "SUCCESS"
    with pytest.raises(errors.NotFoundError):
        paycombat.client.find_transaction_by_id("00000000-0000-4000-8000-000000000000")


def test_create_virtual_account(paycombat: CassetteSession) -> None:
    data = paycombat.client.create_virtual_account(
        {
            "payin_method_name": "KDB산업은행",
            "currency": "KRW",
            "amount": 10000,
            "country": "KR",
            "customer_name": "Hong Gildong",
        }
    )
    assert data["id"]


def test_payin_methods(paycombat: CassetteSession) -> None:
    every = paycombat.client.get_all_payin_method()
    assert {"au_bank_npp", "eu_bank_sct_eur"} <= {method["payin_method_name"] for method in every}
    aud = paycombat.client.get_list_payment_method_by_currency("aud")
    assert all(method["currency"] == "AUD" for method in aud)
    fields = paycombat.client.get_required_fields_by_payin_method("au_bank_npp")
    assert fields["payin_method_name"] == "au_bank_npp"


def test_customers(paycombat: CassetteSession) -> None:
    body = {
        "description": "shopper",
        "type": "INDIVIDUAL",
        "individual": {"first_name": "Ada", "last_name": "Lovelace", "address_country": "AU"},
    }
    created = paycombat.client.create_customer(body)
    assert created.id
    updated = paycombat.client.update_customer(str(created.id), {"description": "renamed"})
    assert updated.description == "renamed"


def test_create_payout(paycombat: CassetteSession) -> None:
    payout = paycombat.client.create_payout(
        {
            "sender_amount": 50,
            "sender_currency": "AUD",
            "beneficiary_currency": "AUD",
            "payout_method_name": "au_bank_acct",
            "order_id": "po-1",
            "purpose_code": "SELF",
        }
    )
    assert payout.status == "PENDING"


def test_get_balance_payout(paycombat: CassetteSession) -> None:
    balance = paycombat.client.get_balance_payout("aud")
    assert balance.currency == "AUD" and balance.balance is not None


def test_not_found_is_typed(paycombat: CassetteSession) -> None:
    with pytest.raises(errors.NotFoundError) as caught:
        paycombat.client.get_detail_checkout("00000000-0000-0000-0000-000000000000")
    assert caught.value.http_status == 404


def test_missing_cassette_fails_instead_of_reaching_the_network() -> None:
    from tests.paycombat.conftest import RECORDER, RECORDING

    if RECORDING:
        return
    client = PaycombatClient("snd_x", "snd_k", "https://api.paycombat.com", retries=0)
    with RECORDER.use_cassette("test_client_cassettes_missing.yaml"), pytest.raises(Exception) as caught:
        client.get_detail_checkout("never-recorded")
    assert (
        "CannotOverwriteExistingCassette" in type(caught.value).__name__
        or "cassette" in str(caught.value).lower()
    )
    assert not (CASSETTES / "test_client_cassettes_missing.yaml").exists()


def test_no_cassette_contains_a_secret() -> None:
    files = sorted(CASSETTES.glob("*.yaml"))
    assert len(files) >= 12
    for path in files:
        text = path.read_text(encoding="utf-8")
        for secret in recording_secrets():
            assert secret not in text, f"{path.name} contains a recording secret"
        assert not re.search(r"\b[0-9a-f]{64}\b", text), f"{path.name} contains a checkout token"
        assert "REDACTED" in text
