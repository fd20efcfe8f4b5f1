"""Payment sessions: one PayCombat checkout per Saleor ``idempotencyKey``, agreed across instances.

The unique (installation, idempotency key) row is the lock: whoever inserts it creates the checkout,
everyone else waits for that checkout. A claim whose creator failed (``last_error``) or vanished
(claimed long ago, still no checkout) may be taken over atomically, so a retry is never stuck.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, or_, select, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.sql.dml import Update

from paycombat_gateway.storage.models import PaymentSession, utcnow
from paycombat_gateway.storage.upsert import insert_unless_exists

__all__ = [
    "claim_payment_session",
    "find_by_checkout_id",
    "find_by_merchant_reference",
    "find_by_transaction",
    "recent_sessions",
    "record_checkout",
]

# Longer than the slowest initialize (three PayCombat calls with their retries).
STALE_CLAIM = timedelta(seconds=120)


def _by_key(session: Session, installation_id: int, idempotency_key: str) -> PaymentSession | None:
    return session.scalars(
        select(PaymentSession).where(
            PaymentSession.installation_id == installation_id,
            PaymentSession.idempotency_key == idempotency_key,
        )
    ).first()


def _take_over(session: Session, row: PaymentSession, now: datetime) -> bool:
    """Atomically re-claim an abandoned or failed initialization; True when this caller won."""
    result = session.execute(
        update(PaymentSession)
        .where(
            PaymentSession.id == row.id,
            PaymentSession.state == "initializing",
            PaymentSession.checkout_id.is_(None),
            or_(PaymentSession.last_error.is_not(None), PaymentSession.claimed_at < now - STALE_CLAIM),
        )
        .values(claimed_at=now, last_error=None)
        .execution_options(synchronize_session=False)
    )
    won = bool(getattr(result, "rowcount", 0))
    if won:
        session.refresh(row)
    return won


def claim_payment_session(
    session: Session, *, installation_id: int, idempotency_key: str, **fields: Any
) -> tuple[PaymentSession, bool]:
    """The session for this key and whether this caller must create the PayCombat checkout.

    Commit right after a winning claim, before calling PayCombat, so other instances see it.
    """
    now = utcnow()
    values: dict[str, Any] = {
        column.key: None for column in PaymentSession.__table__.columns if column.key != "id"
    }
    values.update(
        installation_id=installation_id,
        idempotency_key=idempotency_key,
        claimed_at=now,
        created_at=now,
        updated_at=now,
        state="initializing",
        amount_mismatch=False,
        **fields,
    )
    # Racing claims share both the idempotency key and the merchant reference: any unique key decides.
    new_id = insert_unless_exists(session, PaymentSession, None, **values)
    if new_id is not None:
        # Every column was just written with these values: attach the row without reading it back.
        row = PaymentSession(id=new_id, **values)
        make_transient_to_detached(row)
        session.add(row)
        return row, True
    existing = _by_key(session, installation_id, idempotency_key)
    if existing is None:
        # Not this key's row: another idempotency key already holds the merchant reference.
        raise RuntimeError(
            "payment session claim conflicts with another session's merchant reference "
            f"{values['merchant_reference']!r}"
        )
    return existing, _take_over(session, existing, now)


@lru_cache(maxsize=1)
def _record_checkout_statement() -> Update:
    """Built once: the checkout's columns arrive as parameters and join the SET clause."""
    table = cast(Table, PaymentSession.__table__)
    state = table.c.state
    return (
        update(table)
        .where(table.c.id == bindparam("recorded_session_id"))
        .values(state=case((state == "initializing", "action_required"), else_=state))
        .returning(state)
    )


def record_checkout(session: Session, session_id: int, **checkout: Any) -> str | None:
    """Store the PayCombat checkout of a claimed session in one statement; its state afterwards.

    The state moves from "initializing" to "action_required", unless a webhook has already moved it
    on; ``updated_at`` follows by the column's own ``onupdate``. None when the session no longer exists.
    """
    result = session.execute(
        _record_checkout_statement(), {**checkout, "recorded_session_id": session_id}
    ).scalar()
    return str(result) if result is not None else None


def find_by_transaction(
    session: Session, installation_id: int, saleor_transaction_id: str
) -> PaymentSession | None:
    return session.scalars(
        select(PaymentSession)
        .where(
            PaymentSession.installation_id == installation_id,
            PaymentSession.saleor_transaction_id == saleor_transaction_id,
        )
        .order_by(PaymentSession.id.desc())
    ).first()


def find_by_checkout_id(session: Session, checkout_id: str) -> PaymentSession | None:
    return session.scalars(select(PaymentSession).where(PaymentSession.checkout_id == checkout_id)).first()


def find_by_merchant_reference(session: Session, merchant_reference: str) -> PaymentSession | None:
    return session.scalars(
        select(PaymentSession).where(PaymentSession.merchant_reference == merchant_reference)
    ).first()


def recent_sessions(session: Session, installation_id: int, limit: int = 50) -> list[PaymentSession]:
    return list(
        session.scalars(
            select(PaymentSession)
            .where(PaymentSession.installation_id == installation_id)
            .order_by(PaymentSession.created_at.desc(), PaymentSession.id.desc())
            .limit(limit)
        )
    )
