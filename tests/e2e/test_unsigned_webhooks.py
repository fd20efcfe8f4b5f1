"""PayCombat calls X-Signature optional: unsigned deliveries are refused unless a configuration opts in,
and then only what Retrieve Payin confirms is believed."""

from __future__ import annotations

import json
from decimal import Decimal

import requests

from paycombat_gateway.saleor.webhooks import SyncEvent
from paycombat_gateway.storage.configs import get_config
from paycombat_gateway.storage.models import PaycombatDelivery
from tests.support.saleor_double import initialize_payload
from tests.support.stack import Stack


def _allow_unsigned(stack: Stack) -> None:
    with stack.ctx.database.session() as session:
        config = get_config(session, stack.config_id)
        assert config is not None
        config.allow_unsigned_webhooks = True
    stack.ctx.configs.invalidate()


def test_unsigned_delivery_is_refused_by_default(stack: Stack) -> None:
    body = json.dumps(
        {"id": "p", "status": "SUCCESS", "type": "PAYIN", "amount": 49.99, "amount_type": "USD"}
    )
    response = requests.post(
        f"{stack.app_url}/api/webhooks/paycombat/{stack.config_id}", data=body, timeout=5
    )
    assert response.status_code == 401
    with stack.ctx.database.session() as session:
        assert session.query(PaycombatDelivery).count() == 0


def test_opted_in_unsigned_delivery_is_confirmed_with_retrieve_payin(stack: Stack) -> None:
    _allow_unsigned(stack)
    initialize = initialize_payload(stack.saleor)
    checkout_id = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)["pspReference"]
    payin = stack.sandbox.settle(checkout_id, "success")
    url = f"{stack.app_url}/api/webhooks/paycombat/{stack.config_id}"
    lie = dict(payin, amount=1_000_000)  # an unsigned body claiming more than was paid
    response = requests.post(url, data=json.dumps(lie), timeout=5)
    assert response.status_code == 200
    stack.wait_until(lambda: bool(stack.reports("CHARGE_SUCCESS")))
    assert [r["amount"] for r in stack.reports("CHARGE_SUCCESS")] == [Decimal("49.99")]
    unknown = requests.post(
        url, data=json.dumps(dict(payin, id="00000000-0000-4000-8000-000000000000")), timeout=5
    )
    assert unknown.status_code == 401


def test_an_unsigned_delivery_confirmed_with_another_payin_is_refused(stack: Stack) -> None:
    """Issue 19: Retrieve Payin must answer the payin asked for; another one confirms nothing."""
    _allow_unsigned(stack)
    stack.sandbox.drop_webhooks(account="e2e")
    initialize = initialize_payload(stack.saleor)
    checkout_id = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)["pspReference"]
    payin = stack.sandbox.settle(checkout_id, "success")
    other = dict(payin, id="00000000-0000-4000-8000-0000000000aa")
    envelope = json.dumps({"status": True, "message": "OK", "data": other})
    stack.sandbox.add_fault("/api/v1/payin/retrieve-payin/", status=200, body=envelope, count=1)

    response = requests.post(
        f"{stack.app_url}/api/webhooks/paycombat/{stack.config_id}", data=json.dumps(payin), timeout=5
    )

    assert response.status_code == 401 and "another payin" in response.json()["error"]["message"]
    stack.wait_until(stack.outbox_settled)
    assert stack.reports("CHARGE_SUCCESS") == []
