"""X-token and signature are checked exactly as documented; failures are 401 envelopes that store nothing."""

from __future__ import annotations

import json

import pytest
import requests

from paycombat_gateway.paycombat.signing import compute_signature, js_stringify, sign_body
from paycombat_gateway.sandbox.server import RunningSandbox
from tests.sandbox.conftest import ACCOUNT, OTHER, Api, counts, parse, payment_request
from tests.support.receiver import Receiver

CREATE = "/api/v1/checkout/payment-request"


def _post(sandbox: RunningSandbox, payload: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(
        sandbox.base_url + CREATE,
        data=payload,
        headers={"Content-Type": "application/json", **headers},
        timeout=5,
    )


@pytest.mark.parametrize(
    "case",
    [
        "wrong x-token",
        "no x-token",
        "wrong signature",
        "no signature",
        "other account's key",
        "tampered body",
    ],
)
def test_bad_credentials_get_the_401_envelope_and_store_nothing(
    shared_sandbox: RunningSandbox, receiver: Receiver, case: str
) -> None:
    sandbox = shared_sandbox
    before = counts(sandbox)
    body = payment_request(webhook_url=receiver.url)
    signed = sign_body(body, ACCOUNT.signature_key)
    payload = signed.payload
    headers = {"X-token": ACCOUNT.x_token, "signature": signed.signature}
    if case == "wrong x-token":
        headers["X-token"] = "snd_not_an_account"
    elif case == "no x-token":
        del headers["X-token"]
    elif case == "wrong signature":
        headers["signature"] = "0" * 64
    elif case == "no signature":
        del headers["signature"]
    elif case == "other account's key":
        headers["signature"] = sign_body(body, OTHER.signature_key).signature
    elif case == "tampered body":
        payload = payload.replace(b'"amount":91', b'"amount":1')
        assert payload != signed.payload
    response = _post(sandbox, payload, headers)
    assert response.status_code == 401
    answer = parse(response)
    assert answer["status"] is False and answer["message"].startswith("Unauthenticated")
    assert set(answer) == {"status", "message"}
    for secret in (ACCOUNT.x_token, ACCOUNT.signature_key, signed.signature):
        assert secret not in response.text
    assert counts(sandbox) == before
    assert sandbox.wait_for_webhooks() and receiver.received == []


def test_a_bad_signature_on_patch_changes_nothing(sandbox: RunningSandbox, api: Api) -> None:
    checkout = api.create_checkout()
    body = {"checkout_token": checkout["checkout_token"], "payin_method_name": "card"}
    response = requests.patch(
        sandbox.base_url + "/api/v1/checkout",
        data=js_stringify(body).encode(),
        headers={"X-token": ACCOUNT.x_token, "signature": "f" * 64},
        timeout=5,
    )
    assert response.status_code == 401 and parse(response)["status"] is False
    assert api.data("get_detail_checkout", checkout_id=checkout["id"])["payin_method_name"] is None
    assert api.data("create_new_checkout", body)["payin_method_name"] == "card"


def test_get_needs_the_x_token_but_no_signature(sandbox: RunningSandbox, api: Api) -> None:
    checkout = api.create_checkout()
    url = f"{sandbox.base_url}/api/v1/checkout/retrieve/{checkout['id']}"
    assert requests.get(url, headers={"X-token": ACCOUNT.x_token}, timeout=5).status_code == 200
    refused = requests.get(url, headers={"X-token": "snd_wrong"}, timeout=5)
    assert refused.status_code == 401 and parse(refused)["status"] is False
    assert requests.get(url, timeout=5).status_code == 401


def test_a_body_re_encoded_after_signing_is_accepted_like_paycombat_does(sandbox: RunningSandbox) -> None:
    """PHP's Guzzle re-encodes with spaces, ``\\/`` and ``\\uXXXX``; PayCombat re-serialises before checking."""
    body = payment_request(description="주문/1", redirect_url="https://shop.example/a/b")
    signature = sign_body(body, ACCOUNT.signature_key).signature
    reencoded = json.dumps(json.loads(js_stringify(body)), ensure_ascii=True).replace("/", "\\/")
    assert reencoded.encode() != js_stringify(body).encode()
    response = _post(sandbox, reencoded.encode(), {"X-token": ACCOUNT.x_token, "signature": signature})
    assert response.status_code == 200, response.text
    assert parse(response)["data"]["description"] == "주문/1"
    # ... but a signature over a different body still fails after re-serialising
    other = compute_signature(js_stringify({**body, "amount": 1}).encode(), ACCOUNT.signature_key)
    assert (
        _post(sandbox, reencoded.encode(), {"X-token": ACCOUNT.x_token, "signature": other}).status_code
        == 401
    )


def test_accounts_are_isolated(sandbox: RunningSandbox, api: Api, receiver: Receiver) -> None:
    mine = api.create_checkout(webhook_url=receiver.url)
    other = Api(sandbox.base_url, OTHER)
    token = {"checkout_token": mine["checkout_token"]}
    assert other.call("get_detail_checkout", checkout_id=mine["id"]).status_code == 404
    assert other.call("cancel_checkout", token).status_code == 404
    assert other.call("create_new_checkout", {**token, "payin_method_name": "card"}).status_code == 404
    assert other.call("get_va_bank_information_krw", checkout_token=mine["checkout_token"]).status_code == 404
    assert other.data("get_all_checkout")["data"] == []
    payin = sandbox.settle(mine["id"], "success")
    assert other.call("retrieve_payin", payin_id=payin["id"]).status_code == 404
    assert api.data("retrieve_payin", payin_id=payin["id"])["id"] == payin["id"]
    (delivery,) = receiver.wait_for(1)
    assert delivery.headers["x-signature"] == compute_signature(delivery.body, ACCOUNT.signature_key)
    assert delivery.headers["x-signature"] != compute_signature(delivery.body, OTHER.signature_key)


def test_checkout_url_names_the_merchant_without_its_x_token(api: Api, sandbox: RunningSandbox) -> None:
    mine = api.create_checkout()
    theirs = Api(sandbox.base_url, OTHER).create_checkout()
    for checkout, account in ((mine, ACCOUNT), (theirs, OTHER)):
        assert checkout["checkout_url"] == (
            f"{sandbox.base_url}/checkout/?token={checkout['checkout_token']}&identifier={account.identifier}"
        )
        assert account.x_token not in checkout["checkout_url"]
        assert account.identifier.startswith("snd_")
    assert ACCOUNT.identifier != OTHER.identifier
    assert mine["merchant_id"] == ACCOUNT.merchant_id != theirs["merchant_id"]
