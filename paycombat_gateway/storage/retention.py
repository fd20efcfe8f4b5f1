"""Retention: shoppers' details are removed once they are older than ``DATA_RETENTION_DAYS``.

What goes (docs/privacy.md says why):
- a PayCombat delivery's raw body and headers (the payin as PayCombat sent it: payer's name, e-mail,
  phone, account details); the row stays, emptied, so a late redelivery is still known as a duplicate
  and the reports that name it keep their link;
- a settled payment's virtual account number and holder, hosted checkout link and token, and PayCombat's
  error text; the bank's name stays (the transaction's name in Saleor says it).
What stays: amounts, currencies, states, Saleor's and PayCombat's references, dates, refunds and the
reports to Saleor. A payment still open keeps its details until it settles or expires.

Rows are changed in batches of ``limit`` so a pass never holds a long transaction; a row is changed once
(``purged_at``), so several instances running passes at once only repeat a cheap query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from paycombat_gateway.storage.db import Database
from paycombat_gateway.storage.models import PaycombatDelivery, PaymentSession, utcnow
from paycombat_gateway.storage.sessions import FINAL_STATES

__all__ = [
    "BATCH",
    "KEPT_ACCOUNT_FIELDS",
    "Purged",
    "purge_all_expired",
    "purge_expired",
    "retention_cutoff",
]

BATCH = 500
KEPT_ACCOUNT_FIELDS = ("bank_name", "expires_at")  # what is not about the shopper


@dataclass(frozen=True, slots=True)
class Purged:
    deliveries: int = 0
    payments: int = 0

    @property
    def total(self) -> int:
        return self.deliveries + self.payments


def retention_cutoff(days: int, now: datetime | None = None) -> datetime:
    """Rows last touched before this moment are past retention (``days`` 0: every row, now)."""
    return (now or utcnow()) - timedelta(days=days)


def purge_expired(session: Session, *, older_than: datetime, limit: int = BATCH) -> Purged:
    """Remove shoppers' details from up to ``limit`` deliveries and ``limit`` settled payments last
    touched before ``older_than``; how many of each were changed."""
    now = utcnow()
    deliveries = session.scalars(
        select(PaycombatDelivery)
        .where(PaycombatDelivery.purged_at.is_(None), PaycombatDelivery.received_at <= older_than)
        .order_by(PaycombatDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for delivery in deliveries:
        delivery.raw_body = b""
        delivery.headers = {}
        delivery.purged_at = now
    payments = session.scalars(
        select(PaymentSession)
        .where(
            PaymentSession.purged_at.is_(None),
            PaymentSession.state.in_(FINAL_STATES),
            PaymentSession.updated_at <= older_than,
        )
        .order_by(PaymentSession.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for payment in payments:
        if payment.virtual_account:
            payment.virtual_account = {
                key: payment.virtual_account[key]
                for key in KEPT_ACCOUNT_FIELDS
                if key in payment.virtual_account
            }
        payment.checkout_url = None
        payment.checkout_token = None
        payment.last_error = None
        payment.purged_at = now
    session.flush()
    return Purged(deliveries=len(deliveries), payments=len(payments))


def purge_all_expired(database: Database, days: int) -> Purged:
    """A whole pass now (``purge --expired``): batch after batch, each in its own transaction, until
    nothing past ``days`` is left."""
    cutoff = retention_cutoff(days)
    deliveries = payments = 0
    while True:
        with database.session() as session:
            purged = purge_expired(session, older_than=cutoff)
        deliveries, payments = deliveries + purged.deliveries, payments + purged.payments
        if purged.deliveries < BATCH and purged.payments < BATCH:
            return Purged(deliveries=deliveries, payments=payments)
