"""The outbox of ``transactionEventReport`` calls owed to Saleor.

Rows are claimed with a lease: on PostgreSQL with ``FOR UPDATE SKIP LOCKED`` so instances never wait
on each other; on SQLite the write lock taken by ``BEGIN IMMEDIATE`` makes the same query atomic.
A worker that dies leaves its lease to expire and another worker picks the row up. Rows are never
dropped: a row stays pending with capped backoff until Saleor accepts it, or is parked as failed on
an error that retrying cannot fix, for an operator to retry.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, exists, or_, select, update
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.dml import Insert

from paycombat_gateway.storage.models import OutboxReport, utcnow
from paycombat_gateway.storage.upsert import insert_unless_exists, unless_exists_statement

# An outbox row that is not an event: the worker sends it with transactionUpdate (name, link, buttons)
# as they are when it is delivered, so it has no place in its payment's order of events.
TRANSACTION_DETAILS = "TRANSACTION_DETAILS"
# A report's states: owed to Saleor (retried with backoff until it accepts), delivered, or parked for an
# operator (refused for good, or its Saleor uninstalled the app).
REPORT_OWED = "pending"
REPORT_DELIVERED = "delivered"
REPORT_PARKED = "failed"

__all__ = [
    "REPORT_DELIVERED",
    "REPORT_OWED",
    "REPORT_PARKED",
    "TRANSACTION_DETAILS",
    "backoff_delay",
    "claim_due_reports",
    "enqueue_report",
    "enqueue_report_statement",
    "give_back",
    "mark_delivered",
    "mark_failed",
    "mark_retry",
    "release_leases",
    "renew_lease",
    "reports_by_state",
    "retry_report",
]

MAX_BACKOFF_SECONDS = 600
_IDENTITY = ("payment_session_id", "event_type", "psp_reference")  # one report per identity


def backoff_delay(attempts: int) -> timedelta:
    """2, 4, 8, … seconds, capped at ten minutes, with ±20 % jitter so instances do not stampede."""
    base = min(2 ** max(attempts, 1), MAX_BACKOFF_SECONDS)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


def enqueue_report(
    session: Session,
    *,
    installation_id: int,
    payment_session_id: int,
    event_type: str,
    psp_reference: str,
    amount: Decimal | None,
    currency: str,
    message: str | None,
    delivery_id: int | None = None,
    available_actions: list[str] | None = None,
    external_url: str | None = None,
    occurred_at: datetime | None = None,
) -> tuple[int, bool]:
    """Owe Saleor one event; enqueueing the same (session, type, pspReference) again is a no-op.

    Returns the report's id and whether this call created it."""
    now = utcnow()
    report_id = insert_unless_exists(
        session,
        OutboxReport,
        _IDENTITY,
        installation_id=installation_id,
        payment_session_id=payment_session_id,
        delivery_id=delivery_id,
        event_type=event_type,
        psp_reference=psp_reference,
        amount=amount,
        currency=currency,
        message=message,
        available_actions=available_actions,
        external_url=external_url,
        occurred_at=occurred_at or now,
        next_attempt_at=now,
        created_at=now,
        state=REPORT_OWED,
        attempts=0,
    )
    if report_id is not None:
        return int(report_id), True
    existing = session.scalars(
        select(OutboxReport.id).where(
            OutboxReport.payment_session_id == payment_session_id,
            OutboxReport.event_type == event_type,
            OutboxReport.psp_reference == psp_reference,
        )
    ).one()
    return existing, False


def enqueue_report_statement(dialect: str, **fields: Any) -> tuple[Insert, dict[str, Any]]:
    """``enqueue_report`` as a statement and its values, for ``Database.write_then`` to run after the
    write that led to it, in the same transaction and outside any ORM session (the request path, where
    a session would cost more than the write). Its row comes back only when the report is new."""
    now = utcnow()
    values: dict[str, Any] = {
        column.key: None for column in OutboxReport.__table__.columns if column.key != "id"
    }
    values.update(
        occurred_at=now, next_attempt_at=now, created_at=now, state=REPORT_OWED, attempts=0, **fields
    )
    return unless_exists_statement(cast(Table, OutboxReport.__table__), dialect, _IDENTITY), values


def claim_due_reports(
    session: Session,
    worker_id: str,
    *,
    limit: int = 20,
    lease_seconds: float = 60,
    now: datetime | None = None,
    skip_installations: Collection[int] = (),
    room: Callable[[int], int] | None = None,
    holding: Collection[int] = (),
) -> list[OutboxReport]:
    """Lease up to ``limit`` due reports to ``worker_id``; each due row goes to exactly one worker.
    ``skip_installations``: Saleors whose share of this worker is full (their reports wait).
    ``room(installation_id)``: how many more payments that Saleor's share takes; reports of payments
    beyond it are left unclaimed (those of payments in ``holding``, already held by the worker, need none).

    An event report waits while an earlier event report of its payment is still owed and not yet due
    (waiting for its retry): a refund owed since must not reach Saleor before the charge it follows. A
    details row (``TRANSACTION_DETAILS``) neither waits nor holds back: it is read as of its delivery,
    not as of its turn."""
    now = now or utcnow()
    skipped = [OutboxReport.installation_id.not_in(list(skip_installations))] if skip_installations else []
    earlier = aliased(OutboxReport)
    behind_an_earlier_one = exists().where(
        earlier.payment_session_id == OutboxReport.payment_session_id,
        earlier.id < OutboxReport.id,
        earlier.event_type != TRANSACTION_DETAILS,
        earlier.state == REPORT_OWED,
        earlier.next_attempt_at > now,
    )
    rows = list(
        session.scalars(
            select(OutboxReport)
            .where(
                OutboxReport.state == REPORT_OWED,
                OutboxReport.next_attempt_at <= now,
                or_(OutboxReport.claimed_until.is_(None), OutboxReport.claimed_until < now),
                or_(OutboxReport.event_type == TRANSACTION_DETAILS, ~behind_an_earlier_one),
                *skipped,
            )
            .order_by(OutboxReport.next_attempt_at, OutboxReport.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if room is not None:
        rows = _within_room(rows, room, holding)
    until = now + timedelta(seconds=lease_seconds)
    for row in rows:
        row.claimed_by = worker_id
        row.claimed_until = until
    session.flush()
    return rows


def _within_room(
    rows: list[OutboxReport], room: Callable[[int], int], holding: Collection[int]
) -> list[OutboxReport]:
    taken: dict[int, set[int]] = {}  # installation id -> payments newly taken
    kept = []
    for row in rows:
        payments = taken.setdefault(row.installation_id, set())
        if row.payment_session_id in holding or row.payment_session_id in payments:
            kept.append(row)
        elif len(payments) < room(row.installation_id):
            payments.add(row.payment_session_id)
            kept.append(row)
    return kept


def renew_lease(session: Session, report_id: int, worker_id: str, lease_seconds: float) -> bool:
    """Extend ``worker_id``'s lease on a report as its delivery starts, so it outlives the call however
    long the report waited in its Saleor's lane; False when the lease is no longer this worker's."""
    result = session.execute(
        update(OutboxReport)
        .where(_owned(report_id, worker_id), OutboxReport.state == REPORT_OWED)
        .values(claimed_until=utcnow() + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def release_leases(session: Session, holder_prefix: str, keep: str) -> int:
    """Make due again the pending reports leased to an earlier incarnation of this instance (worker ids
    beginning with ``holder_prefix``, other than ``keep``); returns how many."""
    result = session.execute(
        update(OutboxReport)
        .where(
            OutboxReport.state == REPORT_OWED,
            OutboxReport.claimed_by.startswith(holder_prefix, autoescape=True),
            OutboxReport.claimed_by != keep,
        )
        .values(claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _owned(report_id: int, worker_id: str) -> Any:
    return (OutboxReport.id == report_id) & (OutboxReport.claimed_by == worker_id)


def mark_delivered(session: Session, report_id: int, worker_id: str) -> bool:
    result = session.execute(
        update(OutboxReport)
        .where(_owned(report_id, worker_id))
        .values(
            state=REPORT_DELIVERED,
            delivered_at=utcnow(),
            claimed_by=None,
            claimed_until=None,
            last_error=None,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def mark_retry(session: Session, report_id: int, worker_id: str, error: str) -> bool:
    row = session.get(OutboxReport, report_id)
    if row is None or row.claimed_by != worker_id:
        return False
    row.attempts += 1
    row.last_error = error[:2000]
    row.next_attempt_at = utcnow() + backoff_delay(row.attempts)
    row.claimed_by = None
    row.claimed_until = None
    return True


def give_back(session: Session, report_ids: Collection[int], worker_id: str, behind: int) -> int:
    """Release ``worker_id``'s claim on ``report_ids`` without counting an attempt: they come after
    report ``behind`` (one of their payment's events, just marked for retry), so no event among them is
    due before it; a details row stays due (it is read as of its delivery). Returns how many were given
    back."""
    if not report_ids:
        return 0
    due = session.scalar(select(OutboxReport.next_attempt_at).where(OutboxReport.id == behind))
    given = 0
    for row in session.scalars(
        select(OutboxReport).where(
            OutboxReport.id.in_(list(report_ids)), OutboxReport.claimed_by == worker_id
        )
    ):
        row.claimed_by = None
        row.claimed_until = None
        if due is not None and row.event_type != TRANSACTION_DETAILS and row.next_attempt_at < due:
            row.next_attempt_at = due
        given += 1
    return given


def mark_failed(session: Session, report_id: int, worker_id: str, error: str) -> bool:
    """Park a report that retrying cannot fix; it stays visible until an operator retries it."""
    row = session.get(OutboxReport, report_id)
    if row is None or row.claimed_by != worker_id:
        return False
    row.attempts += 1
    row.state = REPORT_PARKED
    row.last_error = error[:2000]
    row.claimed_by = None
    row.claimed_until = None
    return True


def retry_report(session: Session, report_id: int) -> OutboxReport | None:
    """Make a failed or waiting report due now (operator action)."""
    row = session.get(OutboxReport, report_id)
    if row is None or row.state == REPORT_DELIVERED:
        return None
    row.state = REPORT_OWED
    row.next_attempt_at = utcnow()
    row.claimed_by = None
    row.claimed_until = None
    return row


def reports_by_state(
    session: Session, installation_id: int, states: tuple[str, ...], limit: int = 50
) -> list[OutboxReport]:
    return list(
        session.scalars(
            select(OutboxReport)
            .where(OutboxReport.installation_id == installation_id, OutboxReport.state.in_(states))
            .order_by(OutboxReport.created_at.desc())
            .limit(limit)
        )
    )
