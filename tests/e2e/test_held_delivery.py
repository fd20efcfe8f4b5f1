"""Attack: a signed delivery whose amount cannot be kept exactly must not swallow the correct one."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from paycombat_gateway.saleor.webhooks import SyncEvent
from paycombat_gateway.storage.models import PaycombatDelivery, PaymentSession
from tests.support.saleor_double import initialize_payload
from tests.support.stack import Stack, run_stack_on

PAYIN_ID = "5b0c7e8e-0000-4000-8000-0000000000bb"


@pytest.fixture(params=["sqlite", "postgresql"])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    with run_stack_on(request.param, tmp_path) as running:
        yield running


def test_a_held_delivery_leaves_the_event_to_its_correct_copy(stack: Stack) -> None:
    _, template_id = stack.settled_checkout("success")
    target = initialize_payload(stack.saleor)
    target_id = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, target)["pspReference"]
    correct = stack.payin_success_for(target_id, PAYIN_ID)
    unstorable = re.sub(r'"amount":[^,}]+', '"amount":1e309', correct)
    assert unstorable != correct

    assert stack.deliver_signed(unstorable.encode()).json() == {"status": True}  # held, stored
    assert stack.deliver_signed(unstorable.encode()).json()["duplicate"] is True  # a replay of it is one
    answer = stack.deliver_signed(correct.encode())
    assert answer.status_code == 200 and "duplicate" not in answer.json()

    stack.wait_until(lambda: len(stack.reports("CHARGE_SUCCESS")) == 2)
    assert {report["pspReference"] for report in stack.reports("CHARGE_SUCCESS")} == {template_id, target_id}
    with stack.ctx.database.session() as session:
        assert session.query(PaymentSession).filter_by(checkout_id=target_id).one().state == "succeeded"
        states = sorted(d.match_state for d in session.query(PaycombatDelivery).filter_by(payin_id=PAYIN_ID))
        assert states == ["matched", "unmatched"]  # the held one stays visible for a person
