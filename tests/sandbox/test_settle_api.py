"""``POST /_sandbox/checkouts/{id}/settle`` does what the hosted page would, once; checkouts also expire."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import requests

from paycombat_gateway.sandbox.errors import SandboxError
from paycombat_gateway.sandbox.server import RunningSandbox
from tests.sandbox.conftest import Api, MovableClock, krw_request, parse
from tests.sandbox.page import open_page
from tests.support.receiver import Receiver


def _settle(sandbox: RunningSandbox, checkout_id: str, body: object) -> requests.Response:
    return requests.post(f"{sandbox.base_url}/_sandbox/checkouts/{checkout_id}/settle", json=body, timeout=5)


def test_settle_makes_the_payin_and_sends_the_webhook(
    api: Api, sandbox: RunningSandbox, receiver: Receiver
) -> None:
    checkout = api.create_checkout(webhook_url=receiver.url)
    response = _settle(sandbox, checkout["id"], {"outcome": "success"})
    assert response.status_code == 200
    payin = parse(response)["data"]
    assert payin["status"] == "SUCCESS" and payin["amount"] == Decimal("91")
    (delivery,) = receiver.wait_for(1)
    assert json.loads(delivery.body, parse_float=Decimal) == payin
    state = parse(requests.get(f"{sandbox.base_url}/_sandbox/checkouts/{checkout['id']}", timeout=5))["data"]
    assert state["sandbox_status"] == "COMPLETED" and state["payin_method_name"] == "au_bank_npp"


def test_amount_override_simulates_a_different_amount_paid(
    api: Api, sandbox: RunningSandbox, receiver: Receiver
) -> None:
    checkout = api.create_checkout(webhook_url=receiver.url)
    payin = sandbox.settle(checkout["id"], "success", amount=Decimal("90.99"))
    assert Decimal(str(payin["amount"])) == Decimal("90.99")
    (delivery,) = receiver.wait_for(1)
    assert b'"amount":90.99,' in delivery.body
    assert api.data("get_detail_checkout", checkout_id=checkout["id"])["amount"] == Decimal("91")


def test_krw_amount_override_is_whole_won(api: Api, sandbox: RunningSandbox) -> None:
    checkout = api.create_checkout(**krw_request())
    with pytest.raises(SandboxError) as refused:
        sandbox.settle(checkout["id"], "success", amount="14999.5")
    assert refused.value.status == 422 and "whole number" in refused.value.message
    assert sandbox.store.count("payin") == 0  # nothing happened: it can still be settled
    payin = sandbox.settle(checkout["id"], "success", amount=14999)
    assert payin["amount"] == 14999 and payin["amount_type"] == "KRW"


def test_method_override(api: Api, sandbox: RunningSandbox) -> None:
    checkout = api.create_checkout()
    assert sandbox.settle(checkout["id"], "success", payin_method_name="card")["payment_method"] == "card"
    other = api.create_checkout()
    with pytest.raises(SandboxError) as refused:
        sandbox.settle(other["id"], "success", payin_method_name="eu_bank_sct_eur")
    assert refused.value.status == 422


def test_settling_twice_is_409_and_changes_nothing(
    api: Api, sandbox: RunningSandbox, receiver: Receiver
) -> None:
    checkout = api.create_checkout(webhook_url=receiver.url)
    first = sandbox.settle(checkout["id"], "success")
    for outcome in ("success", "failed", "expired"):
        response = _settle(sandbox, checkout["id"], {"outcome": outcome})
        assert response.status_code == 409
        assert parse(response) == {
            "status": False,
            "message": "Checkout is already completed; a checkout settles only once",
        }
    assert sandbox.wait_for_webhooks()
    assert [payin["id"] for payin in sandbox.store.all("payin")] == [first["id"]]
    assert len(receiver.received) == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"outcome": "paid"}, 422),
        ({}, 422),
        ({"outcome": "success", "amount": "lots"}, 422),
        ({"outcome": "success", "amount": -1}, 422),
        ({"outcome": "success", "payin_method_name": 7}, 422),
        ([1, 2], 400),
    ],
)
def test_bad_settle_requests(shared_sandbox: RunningSandbox, body: object, status: int) -> None:
    checkout = Api(shared_sandbox.base_url).create_checkout()
    response = _settle(shared_sandbox, checkout["id"], body)
    assert response.status_code == status and parse(response)["status"] is False
    assert shared_sandbox.store.get("checkout", checkout["id"])["_status"] == "OPEN"  # type: ignore[index]


def test_unknown_checkout_is_404(sandbox: RunningSandbox) -> None:
    response = _settle(sandbox, "00000000-0000-4000-8000-000000000000", {"outcome": "success"})
    assert response.status_code == 404 and parse(response)["message"] == "Checkout not found"


def test_checkouts_expire_when_their_time_is_up(
    api: Api, sandbox: RunningSandbox, receiver: Receiver, clock: MovableClock
) -> None:
    checkout = api.create_checkout(webhook_url=receiver.url)
    later = api.create_checkout(webhook_url=receiver.url, expire_at=(clock() + timedelta(days=5)).isoformat())
    clock.advance(hours=48, seconds=1)
    (delivery,) = receiver.wait_for(1)  # the sweeper expired it, nobody had to look
    assert json.loads(delivery.body)["status"] == "EXPIRED"
    assert sandbox.store.get("checkout", checkout["id"])["_status"] == "EXPIRED"  # type: ignore[index]
    assert sandbox.store.get("checkout", later["id"])["_status"] == "OPEN"  # type: ignore[index]
    with requests.Session() as browser:
        assert "expired" in open_page(browser, checkout["checkout_url"]).test_ids["state"]
    assert _settle(sandbox, checkout["id"], {"outcome": "success"}).status_code == 409
