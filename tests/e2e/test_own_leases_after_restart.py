"""``kill -9`` of an instance mid-delivery: when it comes back it takes its own leases back at once,
and never a live instance's."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from paycombat_gateway.background.outbox import OutboxWorker
from paycombat_gateway.saleor.webhooks import SyncEvent
from paycombat_gateway.storage import outbox
from paycombat_gateway.storage.models import OutboxReport
from tests.support.saleor_double import initialize_payload
from tests.support.stack import Stack, run_stack_on

ROOT = Path(__file__).resolve().parents[2]
# An instance that claims every due report, as the outbox worker does before sending, then hangs there.
CLAIM_AND_HANG = """
import json, sys, time
from pathlib import Path
from paycombat_gateway.background.instance_slot import InstanceSlot
from paycombat_gateway.storage import outbox
from paycombat_gateway.storage.db import Database

slot = InstanceSlot.acquire(Path(sys.argv[1]))
database = Database.from_url(sys.argv[2])
claimed = database.run(lambda s: [r.id for r in outbox.claim_due_reports(s, slot.prefix + "deadbeef")])
print(json.dumps(claimed), flush=True)
time.sleep(600)
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    with run_stack_on(request.param, tmp_path, run_outbox_worker=False) as running:
        yield running


def _owe_saleor_a_report(stack: Stack) -> None:
    checkout_id = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize_payload(stack.saleor))[
        "pspReference"
    ]
    stack.sandbox.settle(checkout_id, "success")
    stack.wait_until(lambda: not stack.outbox_settled())


def _states(stack: Stack, ids: list[int]) -> set[tuple[str, str | None]]:
    """(state, holder) of these reports."""
    with stack.ctx.database.session() as session:
        rows = session.query(OutboxReport).filter(OutboxReport.id.in_(ids))
        return {(row.state, row.claimed_by) for row in rows}


def test_a_restarted_instance_takes_back_what_it_had_claimed_when_killed(stack: Stack) -> None:
    _owe_saleor_a_report(stack)
    dying = subprocess.Popen(
        [sys.executable, "-c", CLAIM_AND_HANG, str(stack.settings.data_dir), stack.settings.resolved_database_url],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert dying.stdout is not None
        claimed: list[int] = json.loads(dying.stdout.readline())
    finally:
        dying.kill()  # SIGKILL: no shutdown, the lease stays
        dying.wait(10)
    assert claimed and {state for state, _ in _states(stack, claimed)} == {"pending"}
    restarted = OutboxWorker(stack.ctx)
    restarted.run_once()  # as a stranger it cannot touch them: they are leased for 60 s
    assert {state for state, _ in _states(stack, claimed)} == {"pending"}
    assert restarted.take_instance_slot() == len(
        claimed
    )  # the slot the dead process held: its leases are ours
    restarted.run_once()
    assert _states(stack, claimed) == {("delivered", None)}
    assert len(stack.reports("CHARGE_SUCCESS")) == 1
    assert restarted.slot is not None
    restarted.slot.release()


def test_a_second_live_instance_never_takes_the_first_ones_leases(stack: Stack) -> None:
    _owe_saleor_a_report(stack)
    first, second = OutboxWorker(stack.ctx), OutboxWorker(stack.ctx)
    first.take_instance_slot()
    claimed = stack.ctx.database.run(lambda s: [r.id for r in outbox.claim_due_reports(s, first.worker_id)])
    assert claimed
    assert second.take_instance_slot() == 0
    assert first.slot is not None and second.slot is not None
    assert first.slot.prefix != second.slot.prefix
    second.run_once()
    assert _states(stack, claimed) == {("pending", first.worker_id)}
    first.slot.release()
    second.slot.release()
