"""What reconciliation needs from the sandbox: webhooks that never arrive (and arrive late), and the
transaction lookups that find a payment by its merchant reference."""

from __future__ import annotations

from decimal import Decimal

import pytest

from paycombat_gateway.sandbox.errors import SandboxError
from paycombat_gateway.sandbox.server import RunningSandbox
from tests.sandbox.conftest import ACCOUNT, OTHER, Api
from tests.support.receiver import Receiver


def test_every_webhook_of_an_account_is_dropped_and_can_be_sent_late(
    api: Api, sandbox: RunningSandbox, receiver: Receiver
) -> None:
    sandbox.drop_webhooks(account=ACCOUNT.name)
    mine = api.create_checkout(webhook_url=receiver.url, description="SALEOR-drop-1")
    theirs = Api(sandbox.base_url, OTHER).create_checkout(
        webhook_url=receiver.url, description="SALEOR-drop-2"
    )
    sandbox.settle(mine["id"], "success")
    sandbox.settle(theirs["id"], "success")
    assert receiver.wait_for(1)  # the other account's webhook still arrives
    assert sandbox.wait_for_webhooks()
    assert len(receiver.received) == 1
    dropped = [d for d in sandbox.deliveries() if d["dropped"]]
    assert [d["checkout_id"] for d in dropped] == [mine["id"]] and dropped[0]["attempts"] == []

    assert sandbox.release_dropped_webhooks() == 1
    assert receiver.wait_for(2)
    assert sandbox.wait_for_webhooks()
    assert all(d["delivered"] and not d["dropped"] for d in sandbox.deliveries())


def test_the_next_deliveries_are_dropped_then_delivery_resumes(
    api: Api, sandbox: RunningSandbox, receiver: Receiver
) -> None:
    sandbox.drop_webhooks(count=2)
    for number in range(3):
        checkout = api.create_checkout(webhook_url=receiver.url, description=f"SALEOR-next-{number}")
        sandbox.settle(checkout["id"], "failed")
    assert receiver.wait_for(1)
    assert sandbox.wait_for_webhooks()
    assert [d["dropped"] for d in sandbox.deliveries()] == [True, True, False]


def test_a_drop_needs_a_known_account_or_a_count(sandbox: RunningSandbox) -> None:
    with pytest.raises(SandboxError) as unknown:
        sandbox.drop_webhooks(account="nobody")
    assert unknown.value.status == 422
    with pytest.raises(SandboxError) as empty:
        sandbox.drop_webhooks()
    assert empty.value.status == 422
    sandbox.drop_webhooks(account=ACCOUNT.name)
    sandbox.stop_dropping_webhooks()
    assert sandbox.sandbox.dispatcher.drops.to_dict() == {"accounts": [], "next": 0}


def test_transactions_are_found_by_merchant_reference_and_by_id(api: Api, sandbox: RunningSandbox) -> None:
    paid = api.create_checkout(description="SALEOR-ref-paid")
    api.create_checkout(description="SALEOR-ref-open")
    payin = sandbox.settle(paid["id"], "success", amount="90.00")

    found = api.data("get_all_transaction", query={"reference": "SALEOR-ref-paid", "type": "PAYIN"})
    assert [item["id"] for item in found["data"]] == [payin["id"]] and found["total"] == 1
    assert Decimal(str(found["data"][0]["amount"])) == Decimal("90.00")
    assert found["data"][0]["amount_type"] == "AUD" and found["data"][0]["status"] == "SUCCESS"
    assert api.data("get_all_transaction", query={"reference": "SALEOR-ref-open"})["data"] == []
    assert api.data("get_all_transaction", query={"reference": "SALEOR-ref-pa"})["data"] == []  # exact match
    assert api.data("find_transaction_by_id", transaction_id=payin["id"])["id"] == payin["id"]

    other = Api(sandbox.base_url, OTHER)
    assert other.data("get_all_transaction", query={"reference": "SALEOR-ref-paid"})["data"] == []
    assert other.call("find_transaction_by_id", transaction_id=payin["id"]).status_code == 404
    assert api.call("get_all_transaction", query={"type": "REFUND"}).status_code == 422
