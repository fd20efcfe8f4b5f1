"""The outbox delivers a batch across payments at once, and one payment's reports in their order."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from paycombat_gateway.background.outbox import OutboxWorker
from paycombat_gateway.saleor.webhooks import SyncEvent
from paycombat_gateway.storage import outbox
from paycombat_gateway.storage.models import OutboxReport, PaymentSession
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
