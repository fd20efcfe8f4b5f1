"""The checkout endpoints answer with the documented envelope and checkout object, and keep state."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import requests

from paycombat_gateway.paycombat.contract import ENDPOINTS
from paycombat_gateway.sandbox.server import RunningSandbox
from tests.sandbox.conftest import ACCOUNT, Api, MovableClock, krw_request, parse, payment_request

DOCUMENTED_CHECKOUT_FIELDS = {
    "id", "checkout_token", "amount", "currency", "country_code", "country_name", "payin_method_name",
    "payin_type", "description", "merchant_id", "customer_id", "checkout_url", "redirect_url",
    "advanced_redirect_url", "webhook_url", "expire_at", "additional_info", "order_summary",
    "created_at", "updated_at", "deleted_at",
}  # fmt: skip


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_create_payment_request_returns_the_checkout_object(
    api: Api, sandbox: RunningSandbox, clock: MovableClock
) -> None:
    before = clock()
    response = api.call("create_payment_request", payment_request(webhook_url="https://shop.example/hook"))
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    answer = parse(response)
    assert answer["status"] is True and answer["message"] == "OK"
    checkout = answer["data"]
    assert set(checkout) == DOCUMENTED_CHECKOUT_FIELDS
    assert not any(key.startswith("_") for key in checkout)
    assert uuid.UUID(checkout["id"]).version == 4
    assert re.fullmatch(r"[0-9a-f]{64}", checkout["checkout_token"])
    assert (
        checkout["amount"] == 91 and checkout["currency"] == "AUD" and checkout["country_name"] == "AUSTRALIA"
    )
    assert checkout["description"] == "SALEOR-test-1"
    assert checkout["webhook_url"] == "https://shop.example/hook"
    assert checkout["advanced_redirect_url"]["completed_url"] == "https://shop.example/ok"
    assert checkout["additional_info"] == {"customer_name": "Zoë O'Brien"}
    assert checkout["order_summary"]["order_items"][0]["unit_price"] == Decimal("45.5")
    expiry = _when(checkout["expire_at"]) - before
    assert timedelta(hours=48) <= expiry < timedelta(hours=48, seconds=5)  # default_expiry_time_seconds
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", checkout["created_at"])
    assert "Zoë" in response.content.decode("utf-8")  # non-ASCII left raw, as JSON.stringify writes it


def test_expire_at_is_honoured_and_normalised(api: Api, clock: MovableClock) -> None:
    wanted = (clock() + timedelta(hours=2)).replace(microsecond=0)
    checkout = api.create_checkout(expire_at=wanted.astimezone(UTC).isoformat())
    assert _when(checkout["expire_at"]) == wanted
    assert checkout["expire_at"].endswith(".000Z")


def test_create_new_checkout_binds_a_method_of_the_currency(api: Api, sandbox: RunningSandbox) -> None:
    checkout = api.create_checkout()
    token = checkout["checkout_token"]
    bound = api.data("create_new_checkout", {"checkout_token": token, "payin_method_name": "au_bank_npp"})
    assert bound["id"] == checkout["id"] and bound["payin_method_name"] == "au_bank_npp"
    switched = api.data("create_new_checkout", {"checkout_token": token, "payin_method_name": "card"})
    assert switched["payin_method_name"] == "card"
    refused = api.call(
        "create_new_checkout", {"checkout_token": token, "payin_method_name": "eu_bank_sct_eur"}
    )
    assert refused.status_code == 422 and "payin_method_name" in parse(refused)["errors"]
    missing = api.call("create_new_checkout", {"checkout_token": token})
    assert missing.status_code == 422 and "payin_method_name" in parse(missing)["errors"]
    unknown = api.call("create_new_checkout", {"checkout_token": "0" * 64, "payin_method_name": "card"})
    assert unknown.status_code == 404 and parse(unknown)["status"] is False
    assert api.data("get_detail_checkout", checkout_id=checkout["id"])["payin_method_name"] == "card"
    payin = sandbox.settle(checkout["id"])
    assert payin["payment_method"] == "card"  # the bound method is what gets paid with
    closed = api.call("create_new_checkout", {"checkout_token": token, "payin_method_name": "au_bank_npp"})
    assert closed.status_code == 400 and "completed" in parse(closed)["message"]


def test_krw_checkouts_accept_bank_names_as_methods(api: Api) -> None:
    checkout = api.create_checkout(**krw_request())
    bound = api.data(
        "create_new_checkout",
        {"checkout_token": checkout["checkout_token"], "payin_method_name": "KDB산업은행"},
    )
    assert bound["payin_method_name"] == "KDB산업은행"


def test_get_detail_checkout(api: Api) -> None:
    checkout = api.create_checkout()
    assert api.data("get_detail_checkout", checkout_id=checkout["id"]) == checkout
    missing = api.call("get_detail_checkout", checkout_id=str(uuid.uuid4()))
    assert missing.status_code == 404
    assert parse(missing) == {"status": False, "message": "Checkout not found"}


def test_get_all_checkout_is_paginated_newest_first(api: Api) -> None:
    ids = [api.create_checkout(description=f"order-{n}")["id"] for n in range(3)]
    first = api.data("get_all_checkout", query={"page": 1, "per_page": 2})
    assert [item["id"] for item in first["data"]] == [ids[2], ids[1]]
    assert (first["current_page"], first["per_page"], first["total"], first["last_page"]) == (1, 2, 3, 2)
    assert (first["from"], first["to"]) == (1, 2)
    second = api.data("get_all_checkout", query={"page": 2, "limit": 2})  # limit is accepted too
    assert [item["id"] for item in second["data"]] == [ids[0]]
    assert api.data("get_all_checkout", query={"page": 3, "per_page": 2})["data"] == []
    everything = api.data("get_all_checkout")
    assert everything["per_page"] == 20 and len(everything["data"]) == 3
    assert api.call("get_all_checkout", query={"page": 0}).status_code == 422
    assert api.call("get_all_checkout", query={"per_page": 1000}).status_code == 422


def test_cancel_checkout_only_while_unpaid(api: Api, sandbox: RunningSandbox) -> None:
    unpaid = api.create_checkout()
    token = {"checkout_token": unpaid["checkout_token"]}
    assert api.data("cancel_checkout", token)["id"] == unpaid["id"]
    assert sandbox.store.get("checkout", unpaid["id"])["_status"] == "CANCELLED"  # type: ignore[index]
    again = api.call("cancel_checkout", token)
    assert (
        again.status_code == 400
        and parse(again)["message"] == "Checkout is already cancelled and cannot be cancelled"
    )
    refused = requests.post(
        f"{sandbox.base_url}/_sandbox/checkouts/{unpaid['id']}/settle", json={"outcome": "success"}, timeout=5
    )
    assert refused.status_code == 409 and "cancelled" in parse(refused)["message"]

    paid = api.create_checkout()
    sandbox.settle(paid["id"], "success")
    response = api.call("cancel_checkout", {"checkout_token": paid["checkout_token"]})
    assert response.status_code == 400
    assert parse(response) == {"status": False, "message": "Checkout is already paid and cannot be cancelled"}
    assert sandbox.store.get("checkout", paid["id"])["_status"] == "COMPLETED"  # type: ignore[index]

    expired = api.create_checkout()
    sandbox.settle(expired["id"], "expired")
    response = api.call("cancel_checkout", {"checkout_token": expired["checkout_token"]})
    assert response.status_code == 400 and "expired" in parse(response)["message"]
    assert api.call("cancel_checkout", {}).status_code == 422


def test_retrieve_payin_by_id_or_finmo_id(api: Api, sandbox: RunningSandbox) -> None:
    checkout = api.create_checkout()
    payin = sandbox.settle(checkout["id"], "success")
    by_id = api.data("retrieve_payin", payin_id=payin["id"])
    assert by_id == api.data("retrieve_payin", payin_id=payin["payin_id_finmo"])
    assert by_id["status"] == "SUCCESS" and by_id["amount"] == 91 and by_id["amount_type"] == "AUD"
    assert api.call("retrieve_payin", payin_id=str(uuid.uuid4())).status_code == 404


def test_every_contract_endpoint_is_served(sandbox: RunningSandbox) -> None:
    """Each path of contract.ENDPOINTS answers (401 without credentials), none is a bare 404/405."""
    samples = {
        "checkout_id": str(uuid.uuid4()),
        "checkout_token": "a" * 64,
        "payin_id": "x",
        "transaction_id": "x",
        "currency": "AUD",
        "payin_method_name": "card",
    }
    for endpoint in ENDPOINTS.values():
        params = {name: samples[name] for name in re.findall(r"{(\w+)}", endpoint.path)}
        response = requests.request(
            endpoint.method, sandbox.base_url + endpoint.url_path(**params), timeout=5
        )
        assert response.status_code == 401, (endpoint.name, response.status_code)
        assert parse(response)["status"] is False


def test_unknown_paths_and_methods_answer_the_envelope(sandbox: RunningSandbox) -> None:
    missing = requests.get(
        sandbox.base_url + "/api/v1/nothing-here", headers={"X-token": ACCOUNT.x_token}, timeout=5
    )
    assert missing.status_code == 404 and parse(missing) == {"status": False, "message": "Not found"}
    wrong = requests.delete(sandbox.base_url + "/api/v1/checkout/payment-request", timeout=5)
    assert wrong.status_code == 405 and parse(wrong)["status"] is False
