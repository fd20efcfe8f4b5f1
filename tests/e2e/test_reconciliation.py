"""No payment is lost when PayCombat's webhook never arrives: the reconciler looks the payments up at
PayCombat (the sandbox) and reports them to Saleor (the double) once, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from paycombat_gateway.background.reconciler import Reconciler
from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.gateway.reconcile import Finding
from paycombat_gateway.saleor.webhooks import SyncEvent
from paycombat_gateway.settings import ReconcileSettings
from paycombat_gateway.storage.models import PaycombatDelivery, PaymentSession, utcnow
from tests.support.databases import postgres_database_url
from tests.support.saleor_double import initialize_payload, process_payload
from tests.support.stack import ACCOUNT, Stack, run_stack

# Short enough that a test never waits long, through settings only: no sleeps tuned to timing.
QUICK = ReconcileSettings(after_seconds=0.05, interval_seconds=0.05, calls_per_second=1000)
OFF = ReconcileSettings(enabled=False, after_seconds=0.01, interval_seconds=0.01, calls_per_second=1000)


@contextmanager
def stack_on(backend: str, tmp_path: Path, reconcile: ReconcileSettings) -> Iterator[Stack]:
    if backend == "sqlite":
        with run_stack(tmp_path, reconcile=reconcile) as stack:
            yield stack
        return
    with postgres_database_url() as url, run_stack(tmp_path, database_url=url, reconcile=reconcile) as stack:
        yield stack


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def start_checkouts(stack: Stack, count: int, first_amount: int = 10) -> list[tuple[dict[str, Any], str]]:
    """``count`` hosted checkouts through transactionInitialize: (payload, checkout id) each."""
    started = []
    for number in range(count):
        initialize = initialize_payload(stack.saleor, amount=f"{first_amount + number}.25")
        started.append(
            (initialize, stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)["pspReference"])
        )
    return started


def backdate(stack: Stack) -> None:
    """Every session opened a minute ago: past RECONCILE_AFTER_SECONDS without waiting for it."""
    with stack.ctx.database.session() as session:
        session.query(PaymentSession).update({PaymentSession.created_at: utcnow() - timedelta(minutes=1)})


def report_counts(stack: Stack) -> Counter[tuple[str, str]]:
    return Counter((report["type"], report["pspReference"]) for report in stack.saleor.reports)


def sessions_by_checkout(stack: Stack) -> dict[str, PaymentSession]:
    with stack.ctx.database.session(readonly=True) as session:
        return {row.checkout_id: row for row in session.query(PaymentSession) if row.checkout_id}


def test_every_webhook_dropped_and_the_payments_still_reach_saleor(backend: str, tmp_path: Path) -> None:
    with stack_on(backend, tmp_path, QUICK) as stack:
        stack.sandbox.drop_webhooks(account=ACCOUNT.name)
        started = start_checkouts(stack, 25)
        paid, failed, abandoned = started[:20], started[20:23], started[23:]
        payins = {}
        for number, (_, checkout_id) in enumerate(paid):
            short = "3.10" if number == 0 else None  # the shopper paid less: PayCombat's amount is reported
            payins[checkout_id] = stack.sandbox.settle(checkout_id, "success", amount=short)
        for _, checkout_id in failed:
            stack.sandbox.settle(checkout_id, "failed")

        stack.wait_until(lambda: len(stack.saleor.accepted_events()) == 23 and stack.outbox_settled())

        events = {(event_type, psp): amount for _, event_type, psp, amount in stack.saleor.accepted_events()}
        for _, checkout_id in paid:
            assert events[("CHARGE_SUCCESS", checkout_id)] == Decimal(str(payins[checkout_id]["amount"]))
        assert events[("CHARGE_SUCCESS", paid[0][1])] == Decimal("3.10")
        assert {psp for kind, psp in events if kind == "CHARGE_FAILURE"} == {c for _, c in failed}
        assert not {psp for _, psp in events} & {c for _, c in abandoned}
        assert set(report_counts(stack).values()) == {1}  # each reported once
        rows = sessions_by_checkout(stack)
        assert {rows[c].settled_by for _, c in paid + failed} == {"reconciliation"}
        assert [rows[c].state for _, c in abandoned] == ["action_required"] * 2
        assert all(d["dropped"] and d["attempts"] == [] for d in stack.sandbox.deliveries())

        # PayCombat's webhooks get through late: stored as duplicates, no second report.
        reports_before = len(stack.saleor.reports)
        assert stack.sandbox.release_dropped_webhooks() == 23
        assert stack.sandbox.wait_for_webhooks()
        assert all(d["delivered"] for d in stack.sandbox.deliveries())
        assert stack.outbox_settled()
        assert len(stack.saleor.reports) == reports_before
        with stack.ctx.database.session(readonly=True) as session:
            deliveries = session.query(PaycombatDelivery).all()
        assert len(deliveries) == 23 and {d.duplicates for d in deliveries} == {1}
        assert {d.source for d in deliveries} == {"reconciliation"}

        # The abandoned checkouts expire at PayCombat: only now do they end as failures.
        for _, checkout_id in abandoned:
            stack.sandbox.settle(checkout_id, "expired")
        # Their looks are minutes apart by now (the interval doubles); an operator's pass looks at once.
        expired = list(stack.app.state.reconciler.run_pass())
        assert {finding.checkout_id for finding in expired} <= {c for _, c in abandoned}
        stack.wait_until(lambda: len(stack.saleor.accepted_events()) == 25 and stack.outbox_settled())
        assert {psp for kind, psp in events} | {c for _, c in abandoned} == {
            psp for _, _, psp, _ in stack.saleor.accepted_events()
        }
        assert set(report_counts(stack).values()) == {1}


def _run_until_idle(reconciler: Reconciler, found: list[Finding], start: threading.Barrier) -> None:
    start.wait()
    while batch := reconciler.run_once():
        found.extend(batch)


def test_two_instances_reconcile_one_backlog_without_a_duplicate(backend: str, tmp_path: Path) -> None:
    with stack_on(backend, tmp_path, OFF) as stack:
        stack.sandbox.drop_webhooks(account=ACCOUNT.name)
        started = start_checkouts(stack, 24)
        for _, checkout_id in started:
            stack.sandbox.settle(checkout_id, "success")
        backdate(stack)
        other = GatewayContext.create(stack.settings)  # a second instance on the same database
        try:
            instances = [Reconciler(stack.ctx, batch=3), Reconciler(other, batch=3)]
            found: list[list[Finding]] = [[], []]
            start = threading.Barrier(2)
            threads = [
                threading.Thread(target=_run_until_idle, args=(instance, found[i], start))
                for i, instance in enumerate(instances)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
        finally:
            other.close()
        looked_at = [finding.session_id for batch in found for finding in batch]
        assert len(looked_at) == len(set(looked_at)) == 24  # each payment looked at by one instance, once
        assert all(batch for batch in found)  # and both instances took part
        stack.app.state.outbox.notify()
        stack.wait_until(lambda: len(stack.saleor.accepted_events()) == 24 and stack.outbox_settled())
        assert set(report_counts(stack).values()) == {1}


def test_paycombat_down_during_a_pass_and_the_next_pass_catches_up(backend: str, tmp_path: Path) -> None:
    with stack_on(backend, tmp_path, OFF) as stack:
        stack.sandbox.drop_webhooks(account=ACCOUNT.name)
        started = start_checkouts(stack, 6)
        for _, checkout_id in started:
            stack.sandbox.settle(checkout_id, "success")
        backdate(stack)
        reconciler = Reconciler(stack.ctx, on_report_enqueued=stack.app.state.outbox.notify)
        stack.sandbox.add_fault("/api/v1/transaction", status=503, count=1000)

        during_outage = reconciler.run_once()

        first, *rest = during_outage
        assert "PayCombat unavailable" in first.found and first.outcome == "paused; its place is kept"
        assert {finding.outcome for finding in rest} == {"its place is kept"} and len(rest) == 5
        rows = sessions_by_checkout(stack)
        assert {
            (r.reconcile_attempts, r.reconcile_next_at, r.reconcile_claimed_by) for r in rows.values()
        } == {(0, None, None)}
        stack.sandbox.clear_faults()

        caught_up: list[Finding] = []
        stack.wait_until(lambda: bool(caught_up.extend(reconciler.run_once()) or len(caught_up) == 6))
        assert all(finding.outcome.startswith("CHARGE_SUCCESS reported") for finding in caught_up)
        stack.wait_until(lambda: len(stack.saleor.accepted_events()) == 6 and stack.outbox_settled())


def test_process_asks_paycombat_when_no_webhook_came(backend: str, tmp_path: Path) -> None:
    with stack_on(backend, tmp_path, OFF) as stack:
        stack.sandbox.drop_webhooks(account=ACCOUNT.name)
        ((initialize, checkout_id),) = start_checkouts(stack, 1)
        payin = stack.sandbox.settle(checkout_id, "success")

        processed = stack.call(
            SyncEvent.TRANSACTION_PROCESS_SESSION, process_payload(stack.saleor, initialize)
        )

        assert processed["result"] == "CHARGE_SUCCESS" and processed["pspReference"] == checkout_id
        assert Decimal(processed["amount"]) == Decimal(str(payin["amount"]))
        stack.wait_until(lambda: bool(stack.saleor.accepted_events()) and stack.outbox_settled())
        assert [event[1:3] for event in stack.saleor.accepted_events()] == [("CHARGE_SUCCESS", checkout_id)]
        assert sessions_by_checkout(stack)[checkout_id].settled_by == "process"
        assert stack.sandbox.release_dropped_webhooks() == 1
        assert stack.sandbox.wait_for_webhooks()
        assert len(stack.saleor.reports) == 1


def test_process_with_nothing_at_paycombat_still_sends_the_shopper_back(tmp_path: Path) -> None:
    with run_stack(tmp_path, reconcile=OFF) as stack:
        ((initialize, checkout_id),) = start_checkouts(stack, 1)
        stack.sandbox.add_fault("/api/v1/transaction", status=503, count=3)  # and PayCombat is down
        down = stack.call(SyncEvent.TRANSACTION_PROCESS_SESSION, process_payload(stack.saleor, initialize))
        stack.sandbox.clear_faults()
        nothing = stack.call(SyncEvent.TRANSACTION_PROCESS_SESSION, process_payload(stack.saleor, initialize))
        assert down["result"] == nothing["result"] == "CHARGE_ACTION_REQUIRED"
        assert nothing["pspReference"] == checkout_id
        assert stack.saleor.reports == []


def test_a_success_that_proves_nothing_never_hides_a_listed_failure(tmp_path: Path) -> None:
    """PayCombat lists, beside this payment's genuine FAILED payin, a SUCCESS naming another payment of
    this app's and a SUCCESS of nothing: neither is preferred, the failure is reported."""
    with stack_on("sqlite", tmp_path, OFF) as stack:
        stack.settled_checkout("success")
        template = json.loads(stack.delivery("PAYIN_SUCCESS")["payload"])
        stack.sandbox.drop_webhooks(account=ACCOUNT.name)
        ((_, checkout_id),) = start_checkouts(stack, 1)
        ours = sessions_by_checkout(stack)[checkout_id].merchant_reference
        mine = {**template, "transaction": ours, "order_reference": ours}
        listed = [
            {**mine, "id": "5b0c7e8e-0000-4000-8000-0000000007a1", "order_reference": "SALEOR-another"},
            {**mine, "id": "5b0c7e8e-0000-4000-8000-0000000007a2", "amount": 0},
            {**mine, "id": "5b0c7e8e-0000-4000-8000-0000000007a3", "status": "FAILED"},
        ]
        envelope = json.dumps({"status": True, "message": "OK", "data": listed})
        stack.sandbox.add_fault("/api/v1/transaction", status=200, body=envelope, count=1)
        backdate(stack)

        (finding,) = [f for f in Reconciler(stack.ctx).run_pass() if f.checkout_id == checkout_id]

        stack.app.state.outbox.notify()
        stack.wait_until(stack.outbox_settled)
        assert sessions_by_checkout(stack)[checkout_id].state == "failed", finding
        assert report_counts(stack)[("CHARGE_FAILURE", checkout_id)] == 1
        assert report_counts(stack)[("CHARGE_SUCCESS", checkout_id)] == 0
