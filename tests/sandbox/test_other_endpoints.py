"""Payin methods, direct payins, S2S virtual accounts, customers, payouts and the payout balance."""

from __future__ import annotations

import json
import re
from decimal import Decimal

from paycombat_gateway.paycombat.contract import KRW_BANKS, PAYIN_METHODS_BY_CURRENCY
from paycombat_gateway.paycombat.signing import compute_signature
from paycombat_gateway.sandbox.server import RunningSandbox
from tests.sandbox.conftest import ACCOUNT, OTHER, Api, parse
from tests.support.receiver import Receiver


def test_payin_methods_follow_the_contract(api: Api) -> None:
    everything = api.data("get_all_payin_method")
    names = {(item["currency"], item["payin_method_name"]) for item in everything}
    for currency, methods in PAYIN_METHODS_BY_CURRENCY.items():
        assert {(currency, name) for name in methods} <= names
    assert {("KRW", bank) for bank in KRW_BANKS} <= names
    aud = api.data("get_list_payment_method_by_currency", currency="aud")
    assert [item["payin_method_name"] for item in aud] == list(PAYIN_METHODS_BY_CURRENCY["AUD"])
    assert api.data("get_list_payment_method_by_currency", currency="XXX") == []
    npp = api.data("get_required_fields_by_payin_method", payin_method_name="au_bank_npp")
    assert npp["payin_method_category"] == "BANK" and npp["default_expiry_time_seconds"] == "172800"
    assert [param["name"] for param in npp["payin_method_param"]] == ["payid_reference", "payid_description"]
    assert re.fullmatch(r"pim_[0-9a-f]{32}", npp["payin_method_id"])
    bank = api.data("get_required_fields_by_payin_method", payin_method_name="KDB산업은행")
    assert bank["currency"] == "KRW" and bank["is_va_allowed"] is True
    assert api.call("get_required_fields_by_payin_method", payin_method_name="nope").status_code == 404


def test_direct_payin_is_pending(api: Api) -> None:
    payin = api.data(
        "create_payin",
        {
            "amount": Decimal("12.34"),
            "currency": "AUD",
            "country": "AU",
            "payin_method_name": "au_bank_npp",
            "description": "inv-9",
        },
    )
    assert payin["status"] == "PENDING" and payin["amount"] == Decimal("12.34")
    assert (
        payin["amount_type"] == "AUD" and payin["currency"] == "FIAT" and payin["trx_type"] == "DIRECT_PAYIN"
    )
    assert payin["order_reference"] == payin["transaction"] == "inv-9"
    assert api.data("retrieve_payin", payin_id=payin["id"])["status"] == "PENDING"
    refused = api.call(
        "create_payin", {"amount": Decimal("1.234"), "currency": "AUD", "payin_method_name": "card"}
    )
    assert refused.status_code == 422 and "amount" in parse(refused)["errors"]


def test_s2s_virtual_account_then_krw_payin(api: Api, receiver: Receiver) -> None:
    virtual_account = api.data(
        "create_virtual_account",
        {"customer_name": "홍길동", "payin_method_name": "KDB산업은행", "currency": "KRW", "amount": 50000, "country": "KR",
         "callback_url": receiver.url, "order_reference": "va-1"},
    )  # fmt: skip
    assert virtual_account["status"] == "APPROVED" and re.fullmatch(
        r"\d{14}", virtual_account["account_number"]
    )
    (callback,) = receiver.wait_for(1)
    assert callback.headers["x-signature"] == compute_signature(callback.body, ACCOUNT.signature_key)
    body = json.loads(callback.body, parse_float=Decimal)
    assert (
        body["status"] == "APPROVED"
        and body["id"] == virtual_account["id"]
        and body["order_reference"] == "va-1"
    )
    payin = api.data(
        "create_payin",
        {
            "amount": 50000,
            "currency": "KRW",
            "payin_method_name": "KDB산업은행",
            "payer_id": virtual_account["id"],
        },
    )
    assert payin["payer_id"] == virtual_account["id"] and payin["status"] == "PENDING"
    unknown = api.call(
        "create_payin",
        {"amount": 50000, "currency": "KRW", "payin_method_name": "KDB산업은행", "payer_id": "x"},
    )
    assert unknown.status_code == 422 and "payer_id" in parse(unknown)["errors"]
    wrong = api.call(
        "create_virtual_account", {"payin_method_name": "Bank of Nowhere", "currency": "USD", "amount": 1}
    )
    assert wrong.status_code == 422 and {"currency", "payin_method_name"} <= set(parse(wrong)["errors"])


def test_customers_are_created_and_updated(api: Api, sandbox: RunningSandbox) -> None:
    body = {
        "description": "shopper",
        "type": "INDIVIDUAL",
        "individual": {"first_name": "Ada", "last_name": "Lovelace", "address_country": "GB"},
    }
    created = api.data("create_customer", body)
    assert re.fullmatch(r"customer_[0-9a-f]{32}", created["id"]) and created["description"] == "shopper"
    updated = api.data(
        "update_customer",
        {"customer_id": created["id"], "description": "renamed", "metadata": {"tier": "gold"}},
    )
    assert updated["id"] == created["id"] and updated["description"] == "renamed"
    assert updated["metadata"] == {"tier": "gold"} and updated["individual"]["first_name"] == "Ada"
    cleared = api.data("update_customer", {"customer_id": created["id"], "description": ""})
    assert cleared["description"] == ""
    invalid = api.call("create_customer", {"type": "INDIVIDUAL", "individual": {"first_name": "Ada"}})
    assert invalid.status_code == 422
    assert {"description", "individual.last_name", "individual.address_country"} <= set(
        parse(invalid)["errors"]
    )
    other = Api(sandbox.base_url, OTHER)
    assert (
        other.call("update_customer", {"customer_id": created["id"], "description": "x"}).status_code == 404
    )


def test_payouts_and_the_balance(api: Api, sandbox: RunningSandbox) -> None:
    checkout = api.create_checkout()
    sandbox.settle(checkout["id"], "success")
    assert api.data("get_balance_payout", currency="aud") == {"currency": "AUD", "balance": 91}
    response = api.call(
        "create_payout",
        {"sender_amount": Decimal("50.25"), "sender_currency": "AUD", "beneficiary_currency": "AUD",
         "payout_method_name": "au_bank_acct", "order_id": "po-1", "purpose_code": "SELF",
         "payout_beneficiary_param": {"individual": {"first_name": "Ada"}, "account_number": "123"}},
    )  # fmt: skip
    assert response.status_code == 201
    answer = parse(response)
    assert answer["status"] is True and answer["message"] == "Created"
    payout = answer["data"]
    assert payout["status"] == "PENDING" and payout["approval"] == "APPROVED" and payout["type"] == "PAYOUT"
    assert payout["original_amount"] == "50.25" and payout["currency"] == "AUD"
    assert re.fullmatch(r"w_txn_[0-9a-f]{32}", payout["wire_id"])
    assert api.data("get_balance_payout", currency="AUD")["balance"] == Decimal("40.75")
    assert Api(sandbox.base_url, OTHER).data("get_balance_payout", currency="AUD")["balance"] == 0
    invalid = api.call("create_payout", {"sender_currency": "AUD", "sender_amount": 1})
    assert invalid.status_code == 422 and "payout_method_name" in parse(invalid)["errors"]
