"""What is owed or held right now: reports to Saleor, refunds to shoppers, payments for the merchant.

Read by ``/metrics`` at every scrape (the totals) and by the problems check (per installation), so each
query is a count over an indexed state column, never a scan of the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paycombat_gateway.storage.models import OutboxReport, PaymentSession, RefundOwed
from paycombat_gateway.storage.outbox import REPORT_OWED, REPORT_PARKED
from paycombat_gateway.storage.refunds import OWED
from paycombat_gateway.storage.sessions import is_held

__all__ = [
    "Backlog",
    "held_payments_by_installation",
    "parked_reports_by_installation",
    "read_backlog",
    "refunds_owed_by_installation",
]


@dataclass(frozen=True, slots=True)
class Backlog:
    """The totals across every installation and instance sharing the database."""

    reports_owed: int
    reports_parked: int
    oldest_report_age_seconds: float
    refunds_owed: int
    oldest_refund_age_seconds: float
    payments_held: int


def _age(now: datetime, oldest: datetime | None) -> float:
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:  # SQLite's min() returns the stored text, without its zone
        oldest = oldest.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - oldest).total_seconds())


def read_backlog(session: Session, now: datetime) -> Backlog:
    reports = dict(
        session.execute(
            select(OutboxReport.state, func.count())
            .where(OutboxReport.state.in_((REPORT_OWED, REPORT_PARKED)))
            .group_by(OutboxReport.state)
        ).all()
    )
    oldest_report = session.scalar(
        select(func.min(OutboxReport.created_at)).where(OutboxReport.state == REPORT_OWED)
    )
    refunds, oldest_refund = session.execute(
        select(func.count(), func.min(RefundOwed.requested_at)).where(RefundOwed.state == OWED)
    ).one()
    held = session.scalar(select(func.count()).where(is_held()))
    return Backlog(
        reports_owed=int(reports.get(REPORT_OWED, 0)),
        reports_parked=int(reports.get(REPORT_PARKED, 0)),
        oldest_report_age_seconds=_age(now, oldest_report),
        refunds_owed=int(refunds),
        oldest_refund_age_seconds=_age(now, oldest_refund),
        payments_held=int(held or 0),
    )


def parked_reports_by_installation(session: Session) -> dict[int, int]:
    return {
        installation_id: int(count)
        for installation_id, count in session.execute(
            select(OutboxReport.installation_id, func.count())
            .where(OutboxReport.state == REPORT_PARKED)
            .group_by(OutboxReport.installation_id)
        )
    }


def refunds_owed_by_installation(session: Session, requested_before: datetime) -> dict[int, int]:
    """Refunds still owed that were asked for before ``requested_before``, per installation."""
    return {
        installation_id: int(count)
        for installation_id, count in session.execute(
            select(RefundOwed.installation_id, func.count())
            .where(RefundOwed.state == OWED, RefundOwed.requested_at < requested_before)
            .group_by(RefundOwed.installation_id)
        )
    }


def held_payments_by_installation(session: Session) -> dict[int, int]:
    """Payments held for the merchant's review (PayCombat's success proved no payment), per installation."""
    return {
        installation_id: int(count)
        for installation_id, count in session.execute(
            select(PaymentSession.installation_id, func.count())
            .where(is_held())
            .group_by(PaymentSession.installation_id)
        )
    }
