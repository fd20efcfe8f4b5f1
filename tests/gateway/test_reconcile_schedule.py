"""When the reconciler looks at a payment again, and when it stops: on the real stack, with the
schedule's moments read from the database rather than waited for."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from paycombat_gateway.background.reconciler import Reconciler
from paycombat_gateway.gateway.reconcile import EXPIRY_GRACE, next_wait
from paycombat_gateway.settings import ReconcileSettings
from paycombat_gateway.storage.models import PaymentSession, utcnow
from tests.e2e.test_reconciliation import OFF, start_checkouts
from tests.support.stack import Stack, run_stack

# Never due by the clock during the test: every look below is an explicit pass.
SLOW = ReconcileSettings(enabled=False, after_seconds=0.01, interval_seconds=60, calls_per_second=1000)


def _row(stack: Stack, checkout_id: str) -> PaymentSession:
    with stack.ctx.database.session(readonly=True) as session:
        return session.query(PaymentSession).filter_by(checkout_id=checkout_id).one()


def test_the_wait_doubles_up_to_an_hour() -> None:
    first = timedelta(seconds=60)
    assert [next_wait(first, n).total_seconds() for n in range(8)] == [
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]
    assert next_wait(timedelta(hours=2), 3) == timedelta(hours=2)  # a first interval above the cap stays


def test_nothing_yet_is_looked_at_again_later_and_a_settled_payment_never(tmp_path: Path) -> None:
    with run_stack(tmp_path, reconcile=SLOW) as stack:
        (_, waiting), (_, paid) = start_checkouts(stack, 2)
        with stack.ctx.database.session() as session:  # both open for longer than RECONCILE_AFTER_SECONDS
            session.query(PaymentSession).update({PaymentSession.created_at: utcnow() - timedelta(minutes=1)})
        reconciler = Reconciler(stack.ctx)
        before = utcnow()
        first = {finding.checkout_id: finding for finding in reconciler.run_once()}
        assert first[waiting].outcome == "nothing to record; next look in 60 s"
        row = _row(stack, waiting)
        assert row.reconcile_attempts == 1 and row.reconcile_claimed_by is None
        assert row.reconcile_next_at is not None and row.reconcile_next_at - before >= timedelta(seconds=60)
        assert reconciler.run_once() == []  # not due again yet

        stack.sandbox.settle(paid, "success")  # its webhook arrives: settled without the reconciler
        assert stack.sandbox.wait_for_webhooks()
        with stack.ctx.database.session() as session:  # both due now
            session.query(PaymentSession).update({PaymentSession.reconcile_next_at: utcnow()})
        second = {finding.checkout_id: finding for finding in reconciler.run_once()}
        assert set(second) == {waiting}
        assert second[waiting].outcome == "nothing to record; next look in 120 s"
        assert _row(stack, waiting).reconcile_attempts == 2


def test_a_checkout_past_its_expiry_with_no_payin_stops_being_looked_up(tmp_path: Path) -> None:
    with run_stack(tmp_path, reconcile=OFF) as stack:
        (_, expired), (_, krw_like) = start_checkouts(stack, 2)
        long_ago = (utcnow() - EXPIRY_GRACE - timedelta(minutes=1)).isoformat()
        later = (utcnow() + timedelta(days=1)).isoformat()
        with stack.ctx.database.session() as session:
            for row in session.query(PaymentSession):
                row.expires_at = long_ago
                row.created_at = utcnow() - timedelta(minutes=1)  # open longer than RECONCILE_AFTER_SECONDS
                if row.checkout_id == krw_like:  # a virtual account open until its own expiry
                    row.virtual_account = {"bank_name": "KDB산업은행", "expires_at": later}
        findings = {finding.checkout_id: finding for finding in Reconciler(stack.ctx).run_once()}
        assert findings[expired].outcome == "nothing to record; expired without a payin: stopped looking"
        assert findings[krw_like].outcome.startswith("nothing to record; next look in")
        stopped = _row(stack, expired)
        assert stopped.reconcile_stopped_at is not None and stopped.state == "action_required"
        with stack.ctx.database.session() as session:
            session.query(PaymentSession).update({PaymentSession.reconcile_next_at: utcnow()})
        assert [f.checkout_id for f in Reconciler(stack.ctx).run_once()] == [krw_like]
        assert stack.saleor.reports == []
        # an operator's pass still looks at it
        assert expired in {f.checkout_id for f in Reconciler(stack.ctx).run_pass()}
