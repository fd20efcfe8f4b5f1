"""The reconciler's queue: open payments due for a look at PayCombat, leased to one instance at a time.

The lease works like the outbox's: on PostgreSQL the due rows are selected ``FOR UPDATE SKIP LOCKED``,
so instances never wait on each other; on SQLite the write lock taken by ``BEGIN IMMEDIATE`` makes the
select-and-claim atomic. A claim expires on its own (``reconcile_claimed_until``), so an instance that
dies mid-pass leaves its payments to the next one. Releasing a claim without rescheduling keeps the
payment's place: that is how a PayCombat outage pauses without losing anything.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from paycombat_gateway.storage.models import PaymentSession

__all__ = ["OPEN_STATES", "claim_for_reconciliation", "payable_until", "release_claims"]

# A hosted checkout is open and unsettled in these states (settlement.SessionState values).
OPEN_STATES = ("action_required", "pending")


def claim_for_reconciliation(
    session: Session,
    worker_id: str,
    *,
    now: datetime,
    open_for: timedelta,
    limit: int,
    lease: timedelta,
    skip_configs: Collection[str] = (),
    created_since: datetime | None = None,
    after_id: int | None = None,
) -> list[PaymentSession]:
    """Lease up to ``limit`` open payments to ``worker_id``, the longest-waiting first.

    Due means: never looked at and open for ``open_for``, or its next look has come; and not stopped.
    With ``after_id`` (an operator's pass, walking the payments in id order) every open payment with
    a larger id, created since ``created_since``, is taken whatever its schedule. A payment leased to
    another instance is never taken.
    """
    unclaimed = or_(
        PaymentSession.reconcile_claimed_until.is_(None), PaymentSession.reconcile_claimed_until < now
    )
    conditions = [
        PaymentSession.state.in_(OPEN_STATES),
        PaymentSession.checkout_id.is_not(None),
        unclaimed,
    ]
    if after_id is not None:
        conditions.append(PaymentSession.id > after_id)
    else:
        conditions += [
            PaymentSession.reconcile_stopped_at.is_(None),
            or_(
                and_(PaymentSession.reconcile_next_at.is_(None), PaymentSession.created_at <= now - open_for),
                PaymentSession.reconcile_next_at <= now,
            ),
        ]
    if created_since is not None:
        conditions.append(PaymentSession.created_at >= created_since)
    if skip_configs:
        conditions.append(PaymentSession.config_id.not_in(list(skip_configs)))
    rows = list(
        session.scalars(
            select(PaymentSession)
            .where(*conditions)
            .order_by(
                *(
                    (PaymentSession.id,)
                    if after_id is not None
                    else (
                        func.coalesce(PaymentSession.reconcile_next_at, PaymentSession.created_at),
                        PaymentSession.id,
                    )
                )
            )
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for row in rows:
        row.reconcile_claimed_by = worker_id
        row.reconcile_claimed_until = now + lease
    session.flush()
    return rows


def release_claims(session: Session, worker_id: str, session_ids: Collection[int]) -> None:
    """Give payments back unchanged: their next look stays when it was (an outage, a stop)."""
    if not session_ids:
        return
    session.execute(
        update(PaymentSession)
        .where(PaymentSession.id.in_(list(session_ids)), PaymentSession.reconcile_claimed_by == worker_id)
        .values(reconcile_claimed_by=None, reconcile_claimed_until=None)
        .execution_options(synchronize_session=False)
    )


def payable_until(expires_at: str | None, virtual_account: dict[str, Any] | None) -> datetime | None:
    """When the shopper can no longer pay: the checkout's expiry, or a KRW virtual account's if later."""
    moments = [expires_at, (virtual_account or {}).get("expires_at")]
    parsed = []
    for moment in moments:
        try:
            when = datetime.fromisoformat(str(moment))
        except ValueError:
            continue
        parsed.append(when if when.tzinfo else when.replace(tzinfo=UTC))
    return max(parsed) if parsed else None
