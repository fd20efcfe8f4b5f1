"""The outbox delivers a batch across payments at once, and one payment's reports in their order."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from prometheus_client import REGISTRY

from paycombat_gateway.background.outbox import OutboxWorker
from paycombat_gateway.saleor.webhooks import SyncEvent
from paycombat_gateway.storage import outbox
from paycombat_gateway.storage.models import OutboxReport, PaymentSession, utcnow
from tests.support.saleor_double import initialize_payload
from tests.support.stack import run_stack


def test_one_batch_reports_every_payment_each_in_its_order(tmp_path: Path) -> None:
    with run_stack(tmp_path, run_outbox_worker=False) as stack:
        transactions = []
        for _ in range(3):
            initialize = initialize_payload(stack.saleor)
            checkout_id = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)["pspReference"]
            transactions.append((initialize["transaction"]["id"], checkout_id))
        with stack.ctx.database.session() as session:
            for transaction_id, checkout_id in transactions:
                payment = session.query(PaymentSession).filter_by(saleor_transaction_id=transaction_id).one()
                for event_type in ("CHARGE_REQUEST", "CHARGE_SUCCESS"):  # owed in this order
                    outbox.enqueue_report(
                        session, installation_id=payment.installation_id, payment_session_id=payment.id,
                        event_type=event_type, psp_reference=checkout_id, amount=Decimal("49.99"),
                        currency="USD", message=None,
                    )  # fmt: skip
        worked = OutboxWorker(stack.ctx).run_once()
        money = [report for report in stack.saleor.reports if report["type"].startswith("CHARGE_")]
        assert worked >= 6
        for transaction_id, _ in transactions:
            assert [r["type"] for r in money if r["id"] == transaction_id] == [
                "CHARGE_REQUEST",
                "CHARGE_SUCCESS",
            ]
        with stack.ctx.database.session() as session:
            states = {
                r.state for r in session.query(OutboxReport).filter(OutboxReport.event_type.like("CHARGE_%"))
            }
        assert states == {"delivered"}


def test_a_report_to_be_retried_holds_its_payments_later_reports_back(tmp_path: Path) -> None:
    """Saleor refuses a payment's charge once: its details, owed after it, wait behind it (given back
    without an attempt counted, never due before it) and reach Saleor after the charge."""
    with run_stack(tmp_path, run_outbox_worker=False) as stack:
        initialize = initialize_payload(stack.saleor)
        checkout_id = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)["pspReference"]
        transaction_id = initialize["transaction"]["id"]
        with stack.ctx.database.session() as session:
            payment = session.query(PaymentSession).filter_by(saleor_transaction_id=transaction_id).one()
            session.query(OutboxReport).filter_by(payment_session_id=payment.id).delete()
            ids = [
                outbox.enqueue_report(
                    session, installation_id=payment.installation_id, payment_session_id=payment.id,
                    event_type=event_type, psp_reference=checkout_id, amount=Decimal("49.99"),
                    currency="USD", message=None,
                )[0]
                for event_type in ("CHARGE_SUCCESS", "REFUND_SUCCESS")  # owed in this order
            ]  # fmt: skip
        stack.saleor.refuse_next_reports = 1

        OutboxWorker(stack.ctx).run_once()

        assert [r["type"] for r in stack.saleor.reports if r["id"] == transaction_id] == []
        with stack.ctx.database.session() as session:
            first, second = (session.get(OutboxReport, report_id) for report_id in ids)
            assert first is not None and second is not None
            assert (first.state, first.attempts, second.state, second.attempts) == (
                "pending",
                1,
                "pending",
                0,
            )
            assert second.claimed_by is None and second.next_attempt_at >= first.next_attempt_at
            second.next_attempt_at = utcnow() - timedelta(seconds=1)  # due, but its charge is not yet
        assert OutboxWorker(stack.ctx).run_once() == 0
        with stack.ctx.database.session() as session:
            for report_id in ids:
                session.get(OutboxReport, report_id).next_attempt_at = utcnow() - timedelta(seconds=1)  # type: ignore[union-attr]

        assert OutboxWorker(stack.ctx).run_once() == 2

        sent = [r["type"] for r in stack.saleor.reports if r["id"] == transaction_id]
        assert sent == ["CHARGE_SUCCESS", "REFUND_SUCCESS"]


def test_a_claim_takes_no_more_of_a_saleors_payments_than_its_lane_has_room_for(tmp_path: Path) -> None:
    with run_stack(tmp_path, run_outbox_worker=False) as stack:
        owed = []
        for _ in range(3):
            initialize = initialize_payload(stack.saleor)
            owed.append(stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)["pspReference"])
        with stack.ctx.database.session() as session:
            pending = session.query(OutboxReport).filter_by(state="pending").count()
            payments = {r.payment_session_id for r in session.query(OutboxReport).filter_by(state="pending")}
        assert len(payments) == 3, pending

        # room for one payment: its reports are claimed, the other two payments' wait unclaimed
        worked = OutboxWorker(stack.ctx, share=1, backlog=1).run_once()

        with stack.ctx.database.session() as session:
            delivered = {
                r.payment_session_id for r in session.query(OutboxReport).filter_by(state="delivered")
            }
            waiting = session.query(OutboxReport).filter_by(state="pending").all()
        assert len(delivered & payments) == 1 and worked == pending - len(waiting)
        assert {r.payment_session_id for r in waiting} == payments - delivered
        assert all(r.claimed_by is None for r in waiting)


def test_an_outcome_is_counted_only_by_the_worker_that_still_holds_the_lease(tmp_path: Path) -> None:
    with run_stack(tmp_path, run_outbox_worker=False) as stack:
        stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize_payload(stack.saleor))
        worker = OutboxWorker(stack.ctx)
        with stack.ctx.database.session() as session:
            (report,) = outbox.claim_due_reports(session, "another-instance", limit=1)
            report_id = report.id

        def sent() -> float:
            return (
                REGISTRY.get_sample_value("paycombat_gateway_outbox_deliveries_total", {"outcome": "sent"})
                or 0.0
            )

        before = sent()
        worker._finish(report_id)  # its lease ran out and another instance took the report over
        assert sent() == before
        with stack.ctx.database.session() as session:
            assert session.get(OutboxReport, report_id).state == "pending"  # type: ignore[union-attr]
            session.get(OutboxReport, report_id).claimed_by = worker.worker_id  # type: ignore[union-attr]
        worker._finish(report_id)
        assert sent() == before + 1
