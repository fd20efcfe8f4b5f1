"""Payment sessions: one PayCombat checkout per Saleor ``idempotencyKey``, agreed across instances.

The unique (installation, idempotency key) row is the lock: whoever inserts it creates the checkout,
everyone else waits for that checkout. A claim whose creator failed (``last_error``) or vanished
(claimed long ago, still no checkout) may be taken over atomically, so a retry is never stuck.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, bindparam, case, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Update, UpdateBase

from paycombat_gateway.storage.db import Database
from paycombat_gateway.storage.models import PaymentSession, utcnow
from paycombat_gateway.storage.upsert import unless_exists_statement

__all__ = [
    "FINAL_STATES",
    "MERCHANT_REFERENCE_PREFIX",
    "Claim",
    "claim_payment_session",
    "find_by_checkout_id",
    "find_by_merchant_reference",
    "find_by_transaction",
    "held_payments",
    "is_held",
    "recent_sessions",
    "record_checkout",
]

# Every payment's merchant reference begins so; PayCombat returns it in the payin's references.
MERCHANT_REFERENCE_PREFIX = "SALEOR-"
# The states a payment never leaves (``gateway.settlement.SessionState.is_final``): a hold ends with them.
FINAL_STATES = ("succeeded", "failed", "expired", "cancelled")
# Longer than the slowest initialize (three PayCombat calls with their retries).
STALE_CLAIM = timedelta(seconds=120)
# A claim writes every column, NULL where it has nothing yet, so one compiled statement serves all claims.
_CLAIM_COLUMNS = tuple(column.key for column in PaymentSession.__table__.columns if column.key != "id")


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
    return bool(getattr(result, "rowcount", 0))


@dataclass(frozen=True, slots=True)
class Claim:
    """Who holds an idempotency key after a claim."""

    session_id: int
    merchant_reference: str  # the stored one: a take-over keeps the first claimant's
    must_create: bool  # this caller creates the PayCombat checkout; everyone else waits for it


def claim_payment_session(
    database: Database, *, installation_id: int, idempotency_key: str, **fields: Any
) -> Claim:
    """Claim ``idempotency_key`` for a new payment session, or learn who holds it.

    The winning insert is committed as it runs, before PayCombat is called, so other instances see it.
    """
    now = utcnow()
    values: dict[str, Any] = dict.fromkeys(_CLAIM_COLUMNS)
    values.update(
        installation_id=installation_id,
        idempotency_key=idempotency_key,
        claimed_at=now,
        created_at=now,
        updated_at=now,
        state="initializing",
        amount_mismatch=False,
        reconcile_attempts=0,
        **fields,
    )
    # Racing claims share the key and the merchant reference: every unique key arbitrates (None).
    statement = unless_exists_statement(
        cast(Table, PaymentSession.__table__), database.engine.dialect.name, None
    )
    inserted = database.write_single(statement, values)
    if inserted is not None:
        return Claim(int(inserted[0]), values["merchant_reference"], must_create=True)
    with database.session() as session:
        existing = _by_key(session, installation_id, idempotency_key)
        if existing is None:
            # Not this key's row: another idempotency key already holds the merchant reference.
            raise RuntimeError(
                "payment session claim conflicts with another session's merchant reference "
                f"{values['merchant_reference']!r}"
            )
        return Claim(existing.id, existing.merchant_reference, _take_over(session, existing, now))


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


def record_checkout(
    database: Database,
    session_id: int,
    *,
    then: Callable[[tuple[Any, ...] | None], tuple[UpdateBase, Mapping[str, Any]] | None] | None = None,
    **checkout: Any,
) -> str | None:
    """Store the PayCombat checkout of a claimed session in one statement; its state afterwards.

    The state moves from "initializing" to "action_required", unless a webhook has already moved it
    on. None when the session no longer exists. ``then`` builds, from the returned row (the state), a
    statement to commit with it in the same transaction: the checkout's announcement to Saleor.
    """
    values = {**checkout, "updated_at": utcnow(), "recorded_session_id": session_id}
    statement = _record_checkout_statement()
    row = database.write_then(statement, values, then) if then else database.write_single(statement, values)
    return str(row[0]) if row is not None else None


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


def is_held() -> ColumnElement[bool]:
    """A payment still held for review: a hold and a state not final. The hold is cleared when the
    payment reaches a final state; the state is checked too, so a hold left on a finished payment (by
    an older version, say) is never counted or shown."""
    return and_(PaymentSession.held_at.is_not(None), PaymentSession.state.not_in(FINAL_STATES))


def held_payments(session: Session, installation_id: int | None = None) -> list[PaymentSession]:
    """Payments held for review, oldest hold first: PayCombat stated a success that proves no payment
    (``held_reason`` says why, in its own words) and nothing was reported to Saleor. A later success
    that proves the payment, or any final state, clears the hold. For alerts (an App Problem, a metric) and the page."""
    query = select(PaymentSession).where(is_held())
    if installation_id is not None:
        query = query.where(PaymentSession.installation_id == installation_id)
    return list(session.scalars(query.order_by(PaymentSession.held_at, PaymentSession.id)))
