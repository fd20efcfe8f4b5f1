"""Refunds owed: what Saleor asked to give back, and what the merchant did about it.

The rules (how much is left, which state may follow which) live in ``gateway.refunds``; this module
only stores and finds rows. Callers that decide on an amount lock the payment row first
(``lock_payment``), so two requests for the same payment never both take its last money.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paycombat_gateway.storage.models import PaymentSession, RefundOwed, utcnow

__all__ = [
    "DECLINED",
    "OWED",
    "REFUNDED",
    "add_refund",
    "committed_amount",
    "find_by_request_key",
    "get_refund",
    "list_refunds",
    "lock_payment",
]

OWED = "owed"
REFUNDED = "refunded"
DECLINED = "declined"


def new_refund_id() -> str:
    """Short enough to type on a command line, unguessable enough to be a public reference."""
    return "rf_" + secrets.token_hex(8)


def lock_payment(session: Session, payment_session_id: int) -> PaymentSession | None:
    return session.get(PaymentSession, payment_session_id, with_for_update=True)


def committed_amount(session: Session, payment_session_id: int) -> Decimal:
    """What is owed or already given back on a payment: every refund not declined."""
    total = session.scalar(
        select(func.coalesce(func.sum(RefundOwed.amount), 0)).where(
            RefundOwed.payment_session_id == payment_session_id, RefundOwed.state != DECLINED
        )
    )
    return Decimal(str(total or 0))


def find_by_request_key(session: Session, installation_id: int, request_key: str) -> RefundOwed | None:
    return session.scalars(
        select(RefundOwed).where(
            RefundOwed.installation_id == installation_id, RefundOwed.request_key == request_key
        )
    ).first()


def add_refund(session: Session, **fields: Any) -> RefundOwed:
    refund = RefundOwed(id=new_refund_id(), state=OWED, requested_at=utcnow(), **fields)
    session.add(refund)
    session.flush()
    return refund


def get_refund(session: Session, refund_id: str, *, for_update: bool = False) -> RefundOwed | None:
    return session.get(RefundOwed, refund_id, with_for_update=for_update)


def list_refunds(
    session: Session,
    *,
    installation_id: int | None = None,
    states: tuple[str, ...] | None = None,
    limit: int = 200,
) -> list[tuple[RefundOwed, PaymentSession]]:
    """Refunds with their payments, the oldest owed first, then the most recently decided."""
    query = select(RefundOwed, PaymentSession).join(
        PaymentSession, PaymentSession.id == RefundOwed.payment_session_id
    )
    if installation_id is not None:
        query = query.where(RefundOwed.installation_id == installation_id)
    if states:
        query = query.where(RefundOwed.state.in_(states))
    query = query.order_by((RefundOwed.state != OWED), RefundOwed.requested_at).limit(limit)
    return [(refund, payment) for refund, payment in session.execute(query)]
