"""Refunds owed on SQLite and PostgreSQL: what is left, redeliveries, and racing requests."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from paycombat_gateway.gateway import refunds
from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.gateway.reporting import TRANSACTION_DETAILS
from paycombat_gateway.saleor.payloads import TransactionRefundRequested
from paycombat_gateway.settings import Settings
from paycombat_gateway.storage import refunds as store
from paycombat_gateway.storage import sessions
from paycombat_gateway.storage.db import Database
from paycombat_gateway.storage.models import OutboxReport, PaymentSession, RefundOwed
from paycombat_gateway.storage.secrets import SecretBox
from tests.storage.test_repositories import _race, _session_fields, _setup

TRANSACTION = "VHJhbnNhY3Rpb25JdGVtOjE="


def _paid(database: Database, box: SecretBox, tmp_path: Path) -> tuple[GatewayContext, int, int]:
    installation_id, config_id = _setup(database, box)
    claim = sessions.claim_payment_session(
        database, installation_id=installation_id, idempotency_key="k1", **_session_fields(config_id)
    )
    with database.session() as session:
        row = session.get(PaymentSession, claim.session_id)
        assert row is not None
        row.state, row.paid_amount, row.payin_id, row.checkout_id = (
            "succeeded",
            Decimal("49.99"),
            "payin-1",
            "co-1",
        )
    settings = Settings(app_url="https://app.example.com", data_dir=tmp_path, app_secret_key="x" * 40)
    ctx = GatewayContext.create(settings, database)
    return ctx, installation_id, claim.session_id


def _request(amount: str, issued_at: str | None = None) -> TransactionRefundRequested:
    payload: dict[str, Any] = {
        "action": {"amount": amount, "currency": "USD", "actionType": "REFUND"},
        "transaction": {
            "id": TRANSACTION,
            "order": {"id": "T3JkZXI6MQ==", "channel": {"slug": "default-channel"}},
        },
    }
    if issued_at:
        payload["issuedAt"] = issued_at
    return TransactionRefundRequested.model_validate(payload)


def test_racing_requests_never_refund_more_than_was_charged(
    database: Database, box: SecretBox, tmp_path: Path
) -> None:
    ctx, installation_id, session_id = _paid(database, box, tmp_path)

    answers = _race(4, lambda i: refunds.refund_requested(ctx, installation_id, _request("20.00")))

    accepted = [answer for answer in answers if answer.result is None]
    refused = [answer for answer in answers if answer.result == "REFUND_FAILURE"]
    assert len(accepted) == 2 and len(refused) == 2
    assert all("left to refund" in (answer.message or "") for answer in refused)
    with database.session() as session:
        assert store.committed_amount(session, session_id) == Decimal("40.00")
        assert session.query(RefundOwed).count() == 2


def test_a_redelivered_request_finds_its_refund_and_a_decision_is_reported_once(
    database: Database, box: SecretBox, tmp_path: Path
) -> None:
    ctx, installation_id, session_id = _paid(database, box, tmp_path)
    first = refunds.refund_requested(ctx, installation_id, _request("49.99", "2026-12-01T10:00:00+00:00"))
    again = refunds.refund_requested(ctx, installation_id, _request("49.99", "2026-12-01T10:00:00+00:00"))
    assert first.result is None and again.psp_reference == first.psp_reference
    # Pending answers carry no actions (Saleor 3.22+ would store them verbatim); the buttons are owed once
    # through transactionUpdate, and a redelivery owes nothing new.
    assert first.actions is None and again.actions is None
    assert first.psp_reference is not None
    with database.session() as session:
        details = session.query(OutboxReport).filter(OutboxReport.event_type == TRANSACTION_DETAILS).all()
        assert [d.psp_reference for d in details if first.psp_reference in d.psp_reference] == [
            f"succeeded:PayCombat:{first.psp_reference}"
        ]

    _, changed = refunds.confirm_refund(ctx, first.psp_reference, reference="R1", decided_by="test")
    _, changed_again = refunds.confirm_refund(ctx, first.psp_reference, reference="R1", decided_by="test")

    assert changed and not changed_again
    with database.session() as session:
        events = session.query(OutboxReport).filter(OutboxReport.event_type.like("REFUND_%")).all()
        assert [(e.event_type, e.psp_reference, e.amount) for e in events] == [
            ("REFUND_SUCCESS", first.psp_reference, Decimal("49.99"))
        ]
        ((refund, payment),) = store.list_refunds(session, installation_id=installation_id)
        assert refund.state == "refunded" and payment.id == session_id
