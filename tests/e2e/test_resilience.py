"""Nothing is lost when Saleor is down or the app restarts between a webhook and its report."""

from __future__ import annotations

from pathlib import Path

from paycombat_gateway.saleor.webhooks import SyncEvent
from paycombat_gateway.storage.models import OutboxReport
from tests.support.saleor_double import initialize_payload
from tests.support.stack import Stack, money_reports, run_stack, serve_app


def test_saleor_unavailable_when_the_webhook_arrives(stack: Stack) -> None:
    initialize = initialize_payload(stack.saleor)
    checkout_id = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)["pspReference"]
    stack.saleor.mode = "down"
    stack.sandbox.settle(checkout_id, "success")
    assert stack.sandbox.wait_for_webhooks()
    delivery = stack.delivery("PAYIN_SUCCESS")
    assert delivery["delivered"] is True  # the app acknowledged PayCombat at once: it stored the delivery

    def attempted_and_waiting() -> bool:
        with stack.ctx.database.session() as session:
            report = money_reports(session).one()
            return report.attempts >= 1 and report.state == "pending"

    stack.wait_until(attempted_and_waiting)
    assert stack.saleor.accepted_events() == []
    stack.saleor.mode = "ok"
    with stack.ctx.database.session() as session:  # don't wait out the backoff in a test
        session.query(OutboxReport).update({OutboxReport.next_attempt_at: OutboxReport.created_at})
    stack.app.state.outbox.notify()
    stack.wait_until(lambda: bool(stack.saleor.accepted_events()))
    assert [event[1] for event in stack.saleor.accepted_events()] == ["CHARGE_SUCCESS"]


def test_app_restarted_between_delivery_and_report(tmp_path: Path) -> None:
    with run_stack(tmp_path, run_outbox_worker=False) as stack:
        initialize = initialize_payload(stack.saleor)
        checkout_id = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)["pspReference"]
        stack.sandbox.settle(checkout_id, "success")
        assert stack.sandbox.wait_for_webhooks()
        with stack.ctx.database.session() as session:
            assert money_reports(session).one().state == "pending"
        assert stack.saleor.reports == []
        restarted_settings = stack.settings.__class__(
            **{**stack.settings.__dict__, "run_outbox_worker": True}
        )
        # the first app stops serving; a new process on the same database takes over
        with serve_app(restarted_settings) as (_, app):
            ctx = app.state.context

            def delivered() -> bool:
                with ctx.database.session() as session:
                    return bool(money_reports(session).one().state == "delivered")

            stack.wait_until(delivered)
            assert [event[1] for event in stack.saleor.accepted_events()] == ["CHARGE_SUCCESS"]
