"""Create Payment Request validates required fields, URLs and money exactly (Decimal, currency decimals)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import requests

from paycombat_gateway.paycombat.signing import compute_signature
from paycombat_gateway.sandbox.server import RunningSandbox
from paycombat_gateway.sandbox.validation import money_amount
from tests.sandbox.conftest import ACCOUNT, Api, counts, krw_request, parse, payment_request

NO_ITEMS: dict[str, Any] = {"order_items": [], "order_fees": []}

INVALID = {
    "amount missing": ({"amount": None}, "amount"),
    "currency missing": ({"currency": None}, "currency"),
    "country_code missing": ({"country_code": None}, "country_code"),
    "amount zero": ({"amount": 0, **NO_ITEMS}, "amount"),
    "amount negative": ({"amount": Decimal("-5"), **NO_ITEMS}, "amount"),
    "amount as text": ({"amount": "91.00"}, "amount"),
    "amount as boolean": ({"amount": True, **NO_ITEMS}, "amount"),
    "USD with three decimals": ({"amount": Decimal("10.005"), "currency": "USD", **NO_ITEMS}, "amount"),
    "KRW with decimals": (
        {"amount": Decimal("15000.5"), "currency": "KRW", "country_code": "KR", **NO_ITEMS},
        "amount",
    ),
    "unsupported currency": ({"currency": "XYZ"}, "currency"),
    "currency not a code": ({"currency": "dollars"}, "currency"),
    "country not a code": ({"country_code": "AUS"}, "country_code"),
    "items do not add up": ({"amount": Decimal("91.01")}, "amount"),
    "fees do not add up": ({"order_fees": [{"fee_name": "Shipping", "fee_amount": 5}]}, "amount"),
    "quantity zero": (
        {"order_items": [{"product_name": "W", "quantity": 0, "unit_price": 91}]},
        "order_items.0.quantity",
    ),
    "fractional quantity": (
        {"order_items": [{"product_name": "W", "quantity": Decimal("0.5"), "unit_price": 182}]},
        "order_items.0.quantity",
    ),
    "item without name": ({"order_items": [{"quantity": 1, "unit_price": 91}]}, "order_items.0.product_name"),
    "unit price too precise": (
        {"order_items": [{"product_name": "W", "quantity": 1, "unit_price": Decimal("90.999")}]},
        "order_items.0.unit_price",
    ),
    "items not a list": ({"order_items": {"product_name": "W"}}, "order_items"),
    "javascript redirect": ({"redirect_url": "javascript:alert(1)"}, "redirect_url"),
    "relative redirect": ({"redirect_url": "/return"}, "redirect_url"),
    "ftp webhook": ({"webhook_url": "ftp://shop.example/hook"}, "webhook_url"),
    "advanced url not http": (
        {"advanced_redirect_url": {"completed_url": "data:text/html,hi"}},
        "advanced_redirect_url.completed_url",
    ),
    "advanced not an object": ({"advanced_redirect_url": "https://shop.example"}, "advanced_redirect_url"),
    "additional_info not an object": ({"additional_info": ["x"]}, "additional_info"),
    "expire_at in the past": ({"expire_at": "2001-01-01T00:00:00Z"}, "expire_at"),
    "expire_at not a date": ({"expire_at": "tomorrow"}, "expire_at"),
    "method not for the currency": ({"payin_method_name": "eu_bank_sct_eur"}, "payin_method_name"),
}


@pytest.mark.parametrize("case", INVALID)
def test_invalid_payment_requests_are_422_with_the_field_and_store_nothing(
    shared_sandbox: RunningSandbox, case: str
) -> None:
    api = Api(shared_sandbox.base_url)
    before = counts(shared_sandbox)
    overrides, field = INVALID[case]
    response = api.call("create_payment_request", payment_request(**overrides))
    assert response.status_code == 422, response.text
    answer = parse(response)
    assert answer["status"] is False and answer["message"]
    assert field in answer["errors"], answer
    assert counts(shared_sandbox) == before


def test_every_problem_is_reported_at_once(shared_sandbox: RunningSandbox) -> None:
    api = Api(shared_sandbox.base_url)
    answer = parse(api.call("create_payment_request", {"redirect_url": "nope"}))
    assert set(answer["errors"]) == {"amount", "currency", "country_code", "redirect_url"}
    assert (
        answer["message"]
        == "The currency field must be a 3-letter ISO 4217 currency code. (and 3 more errors)"
    )


@pytest.mark.parametrize("payload", [b"not json", b"[1,2,3]", b'"text"'])
def test_a_body_that_is_not_a_json_object_is_400(shared_sandbox: RunningSandbox, payload: bytes) -> None:
    sandbox = shared_sandbox
    response = requests.post(
        sandbox.base_url + "/api/v1/checkout/payment-request",
        data=payload,
        headers={"X-token": ACCOUNT.x_token, "signature": compute_signature(payload, ACCOUNT.signature_key)},
        timeout=5,
    )
    assert response.status_code == 400
    assert parse(response) == {"status": False, "message": parse(response)["message"]}
    assert "JSON" in parse(response)["message"]


def test_usd_cents_add_up_exactly(api: Api, sandbox: RunningSandbox) -> None:
    """0.1 + 0.2 is 0.30000000000000004 in binary floating point; the sandbox uses Decimal."""
    items = [
        {"product_name": "A", "quantity": 1, "unit_price": Decimal("0.1")},
        {"product_name": "B", "quantity": 1, "unit_price": Decimal("0.2")},
    ]
    response = api.call(
        "create_payment_request",
        payment_request(amount=Decimal("0.3"), currency="USD", country_code="US", order_items=items),
    )
    assert response.status_code == 200, response.text
    assert b'"amount":0.3,' in response.content
    checkout = parse(response)["data"]
    assert checkout["amount"] == Decimal("0.3")
    assert sandbox.store.get("checkout", checkout["id"])["amount"] == Decimal("0.30")  # type: ignore[index]
    payin = sandbox.settle(checkout["id"], "success")
    assert Decimal(str(payin["amount"])) == Decimal("0.30") and payin["amount_type"] == "USD"


def test_many_cents_with_fees_add_up_exactly(api: Api) -> None:
    items = [{"product_name": "Sticker", "quantity": 7, "unit_price": Decimal("0.07")}]
    fees = [{"fee_name": "Shipping", "fee_amount": Decimal("4.51")}]
    checkout = api.create_checkout(
        amount=Decimal("5.00"), currency="USD", country_code="US", order_items=items, order_fees=fees
    )
    assert checkout["amount"] == Decimal("5")
    assert checkout["order_summary"]["total_amount"] == Decimal("5")
    assert checkout["order_summary"]["order_fees"] == fees


def test_krw_whole_won_are_accepted_and_echoed_without_decimals(api: Api) -> None:
    response = api.call("create_payment_request", krw_request())
    assert response.status_code == 200
    assert b'"amount":15000,' in response.content
    checkout = parse(response)["data"]
    assert checkout["currency"] == "KRW" and checkout["country_code"] == "KR"
    # 15000.0 is still a whole number of won
    again = api.create_checkout(**{**krw_request(), "amount": Decimal("15000.0")})
    assert again["amount"] == 15000


def test_codes_are_normalised_to_upper_case(api: Api) -> None:
    checkout = api.create_checkout(currency="aud", country_code="au")
    assert (checkout["currency"], checkout["country_code"], checkout["country_name"]) == (
        "AUD",
        "AU",
        "AUSTRALIA",
    )


def test_an_amount_beyond_the_limit_is_refused_for_that_reason() -> None:
    with pytest.raises(ValueError, match="must be below 100,000,000,000"):
        money_amount(Decimal("100000000000"), "KRW")
    with pytest.raises(ValueError, match="at most 2 decimal place"):
        money_amount(Decimal("10.005"), "USD")
