"""Reconciliation: no payment is lost because PayCombat's webhook never arrived.

A hosted checkout open and unsettled for ``RECONCILE_AFTER_SECONDS`` is looked up at PayCombat, then
again after ``RECONCILE_INTERVAL_SECONDS``, doubling each time (at most an hour), until it is settled,
cancelled, or past its expiry plus a grace period with nothing at PayCombat (a KRW virtual account
keeps it open until the account's own expiry). What PayCombat shows is recorded by
``inbound.record_payin_news``, the very function a webhook goes through: the same inbox key, the same
settlement rules, the same outbox. So a webhook arriving after the reconciler is a duplicate and adds
no report, and a reconciler arriving after the webhook finds the payment settled and stops.

How a payment is found (contract inferences ``transaction_lookup`` and ``transaction_lookup_confirmed``):
by its payin id when a webhook told us one (Retrieve Payin), otherwise by our merchant reference
(Get All Transaction), keeping only payins whose reference is exactly ours.

This module holds what one look at one payment means (``look_up``, ``schedule_next_look``); the loop
that claims due payments, works configurations side by side, paces and pauses them is
``background.reconciler``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import partial

from paycombat_gateway.gateway.blocking import in_thread
from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.gateway.inbound import NewsSource, not_about, record_payin_news
from paycombat_gateway.gateway.settlement import PayinNotice, SessionState, unproven
from paycombat_gateway.gateway.snapshots import SessionSnapshot, snapshot
from paycombat_gateway.paycombat import errors
from paycombat_gateway.paycombat.client import AsyncPaycombatClient
from paycombat_gateway.paycombat.contract import WebhookKind
from paycombat_gateway.paycombat.models import Payin
from paycombat_gateway.paycombat.webhooks import PaycombatWebhook, parse_webhook
from paycombat_gateway.storage.models import PaymentSession, utcnow
from paycombat_gateway.storage.reconciliation import OPEN_STATES, payable_until
from paycombat_gateway.storage.sessions import FINAL_STATES

__all__ = [
    "EXPIRY_GRACE",
    "MAX_INTERVAL",
    "Finding",
    "ask_before_answering",
    "find_payins_async",
    "learn_from_paycombat",
    "look_up",
    "next_wait",
    "schedule_next_look",
]

logger = logging.getLogger(__name__)

MAX_INTERVAL = timedelta(hours=1)  # the longest wait between two looks at one payment
EXPIRY_GRACE = timedelta(minutes=30)  # PayCombat's PAYIN EXPIRED may lag its expire_at
_BATCH = 50


@dataclass(frozen=True, slots=True)
class Finding:
    """What one look at PayCombat found for one payment, and what the app did with it."""

    session_id: int
    merchant_reference: str
    checkout_id: str | None
    found: str  # e.g. "paid 42.50 AUD (payin …)", "nothing at PayCombat yet", "PayCombat unavailable: …"
    outcome: str  # e.g. "CHARGE_SUCCESS reported", "already known", "next look in 120 s", "would report …"
    amount: Decimal | None = None
    tally: str = "not looked up"  # what it counts as in a summary: paid, failed, nothing yet, unavailable, …

    @classmethod
    def about(
        cls,
        payment: SessionSnapshot,
        found: str,
        outcome: str,
        amount: Decimal | None = None,
        tally: str = "not looked up",
    ) -> Finding:
        return cls(payment.id, payment.merchant_reference, payment.checkout_id, found, outcome, amount, tally)

    def line(self) -> str:
        return (
            f"{self.merchant_reference}  checkout {self.checkout_id or '-'}: {self.found} -> {self.outcome}"
        )


async def find_payins_async(client: AsyncPaycombatClient, payment: SessionSnapshot) -> list[Payin]:
    """PayCombat's payins of ``payment``: the one a webhook named, else those carrying our reference.

    Retrieve Payin's answer counts only when it is the payin asked for, and a listed payin only when
    its reference is exactly ours (``payin_belongs``, ``transaction_lookup_confirmed``); either must
    then prove it is about this payment in ``inbound.not_about``, and its currency and amount are
    judged by the settlement rules, as a webhook's would be.
    """
    if payment.payin_id:
        try:
            if asked := _as_asked(await client.retrieve_payin(payment.payin_id), payment):
                return asked
        except errors.NotFoundError:
            pass
    return _ours(await client.get_all_transaction(reference=payment.merchant_reference), payment)


def _as_asked(payin: Payin, payment: SessionSnapshot) -> list[Payin]:
    """Retrieve Payin's answer when it is the payin asked for; another one is not about this payment."""
    if payin.id == payment.payin_id:
        return [payin]
    logger.warning(
        "PayCombat payin %s ignored, not about this payment (checkout %s): Retrieve Payin was asked for %s",
        payin.id, payment.checkout_id, payment.payin_id,
    )  # fmt: skip
    return []


def _ours(listed: list[Payin], payment: SessionSnapshot) -> list[Payin]:
    reference = payment.merchant_reference
    return [payin for payin in listed if reference in (payin.transaction, payin.order_reference)]


def _as_news(payins: list[Payin], payment: SessionSnapshot) -> list[tuple[PaycombatWebhook, bytes]]:
    """Payins as the statements a webhook would have made; only the successes when one proves this
    payment (a failure listed beside a success must not be reported after it). A success that is not
    about this payment (``inbound.not_about``) or proves no payment (``settlement.unproven``) hides
    nothing: a failure or expiry listed beside it is the news, and the success is left out."""
    news = []
    for payin in payins:
        raw = payin.model_dump_json().encode()
        try:
            news.append((parse_webhook(raw), raw))
        except errors.InvalidRequestError as exc:  # e.g. an amount that is not a number: not news
            logger.warning("reconciler: PayCombat's payin %s cannot be read: %s", payin.id, exc.message)
    successes = [(event, raw) for event, raw in news if event.kind is WebhookKind.PAYIN_SUCCESS]
    if paid := [(event, raw) for event, raw in successes if _proves_payment(event, payment)]:
        return paid
    others = [(event, raw) for event, raw in news if event.kind is not WebhookKind.PAYIN_SUCCESS]
    if others and successes:
        logger.warning(
            "reconciler: PayCombat's success(es) %s for checkout %s left out: none proves this payment",
            ", ".join(event.object_id or "(no id)" for event, _ in successes), payment.checkout_id,
        )  # fmt: skip
    return others or news


def _proves_payment(event: PaycombatWebhook, payment: SessionSnapshot) -> bool:
    notice = PayinNotice(
        kind=event.kind,
        payin_id=event.object_id,
        amount=event.amount,
        currency=event.currency,
        payment_method=event.payment_method,
    )
    return not_about(payment, event) is None and unproven(payment.view(), notice) is None


_WORDS = {
    WebhookKind.PAYIN_SUCCESS: "paid",
    WebhookKind.PAYIN_FAILED: "failed",
    WebhookKind.PAYIN_EXPIRED: "expired",
    WebhookKind.PAYIN_PENDING: "pending",
}


def _word(event: PaycombatWebhook) -> str:
    return _WORDS.get(event.kind, event.kind.value.lower())


def _describe(news: list[tuple[PaycombatWebhook, bytes]]) -> str:
    if not news:
        return "nothing at PayCombat yet"
    return "; ".join(
        f"{_word(event)} {event.amount} {event.currency} (payin {event.object_id})" for event, _ in news
    )


def next_wait(interval: timedelta, attempts: int) -> timedelta:
    """``interval``, doubled after every look, at most an hour (or ``interval`` if that is longer)."""
    grown: timedelta = interval * (2 ** min(attempts, 20))
    return min(grown, max(MAX_INTERVAL, interval))


def learn_from_paycombat(
    ctx: GatewayContext,
    payment: SessionSnapshot,
    news: list[tuple[PaycombatWebhook, bytes]],
    *,
    source: NewsSource,
    schedule: Callable[[PaymentSession, bool], str] | None = None,
) -> tuple[bool, str]:
    """Record what PayCombat shows for ``payment`` (its payins as webhook statements, ``_as_news``)
    through the webhook's path, in one transaction.

    ``schedule`` (the reconciler's) then decides the payment's next look on the locked row; it gets
    whether anything was found and returns what it decided. Returns whether a report was enqueued, and
    what happened in words.
    """
    with ctx.database.session() as session:
        recorded = [
            record_payin_news(
                session,
                config_id=payment.config_id,
                event=event,
                raw_body=raw,
                source=source,
                app_url=ctx.settings.app_url,
                payment_session_id=payment.id,
            )
            for event, raw in news
        ]
        enqueued = any(item.report_enqueued for item in recorded)
        # Locked and loaded by record_payin_news when there was news: no second round trip then.
        row = session.get(PaymentSession, payment.id, with_for_update=not news)
        if row is None:
            return enqueued, "the payment no longer exists"
        if enqueued:
            said = _reported(row)
        elif row.held_reason and row.state not in FINAL_STATES:
            said = f"held for review, nothing reported: {row.held_reason}"
        else:
            said = "already known" if news else "nothing to record"
        if schedule is not None:
            said = f"{said}; {schedule(row, bool(news))}"
    return enqueued, said


async def ask_before_answering(ctx: GatewayContext, payment: SessionSnapshot) -> SessionSnapshot:
    """``transactionProcess`` with no word from PayCombat yet: ask it once and record what it shows,
    the webhook's way; the payment as it now stands. PayCombat not answering changes nothing: the
    answer then comes from what was known, and the reconciler keeps looking. PayCombat is awaited on
    the quick async client; only the database work runs in a worker thread."""
    config = await ctx.configs.by_id_async(payment.config_id)
    if config is None or payment.checkout_id is None:
        return payment
    try:
        payins = await find_payins_async(ctx.paycombat.async_for_config(config, quick=True), payment)
    except errors.PaycombatError as exc:
        logger.warning(
            "transactionProcess: PayCombat did not say how %s stands: %s", payment.checkout_id, exc
        )
        return payment
    if not payins:
        return payment
    return await in_thread(_record_and_reload, ctx, payment, payins)


def _record_and_reload(ctx: GatewayContext, payment: SessionSnapshot, payins: list[Payin]) -> SessionSnapshot:
    learn_from_paycombat(ctx, payment, _as_news(payins, payment), source=NewsSource.PROCESS)
    with ctx.database.session(readonly=True) as session:
        row = session.get(PaymentSession, payment.id)
        return snapshot(row) if row is not None else payment


def _reported(row: PaymentSession) -> str:
    state = SessionState(row.state)
    if state is SessionState.SUCCEEDED:
        return f"CHARGE_SUCCESS reported ({snapshot(row).paid_amount} {row.currency})"
    if state in (SessionState.FAILED, SessionState.EXPIRED):
        return "CHARGE_FAILURE reported"
    return "CHARGE_REQUEST reported"


async def look_up(
    ctx: GatewayContext,
    client: AsyncPaycombatClient,
    payment: SessionSnapshot,
    *,
    worker_id: str,
    interval_seconds: float,
    dry_run: bool = False,
) -> tuple[Finding, bool]:
    """One look at PayCombat for ``payment`` (the reconciler's), recorded the webhook's way and its next
    look scheduled: what was found, and whether a report was enqueued. PayCombat is awaited on the
    event loop; only the database work runs in a worker thread. Raises ``errors.PaycombatError`` when
    PayCombat did not answer (by the client's deadline too): the caller pauses the configuration.
    ``dry_run`` records nothing and leaves the payment's claim to the caller."""
    payins = await find_payins_async(client, payment)
    news = _as_news(payins, payment)
    found, tally = _describe(news), (_word(news[0][0]) if news else "nothing yet")
    amount = news[0][0].amount if news else None
    if dry_run:
        return Finding.about(payment, found, "dry run: nothing recorded", amount, tally), False
    schedule = partial(schedule_next_look, worker_id=worker_id, interval_seconds=interval_seconds)
    enqueued, outcome = await in_thread(
        learn_from_paycombat, ctx, payment, news, source=NewsSource.RECONCILIATION, schedule=schedule
    )
    return Finding.about(payment, found, outcome, amount, tally), enqueued


def schedule_next_look(
    row: PaymentSession, found_something: bool, *, worker_id: str, interval_seconds: float
) -> str:
    """The payment's next look (on its locked row, its claim by ``worker_id`` given up), or the end of
    looking; what was decided."""
    now = utcnow()
    if row.reconcile_claimed_by not in (worker_id, None):
        return "another instance holds it now"
    row.reconcile_claimed_by = None
    row.reconcile_claimed_until = None
    if row.state not in OPEN_STATES:
        row.reconcile_next_at = None
        row.reconcile_note = f"settled ({row.state})"
        return "settled"
    payment = snapshot(row)
    expiry = payable_until(payment.expires_at, payment.virtual_account)
    if expiry is not None and now > expiry + EXPIRY_GRACE:
        # Past its expiry and still not final: with no payin nothing will come; with one (held for
        # review, say) looking again cannot change it. Either way a person, not a loop, is next.
        what = "with nothing final" if found_something else "without a payin"
        row.reconcile_stopped_at = now
        row.reconcile_note = f"expired at PayCombat {what}: no longer looked up"
        return f"expired {what}: stopped looking"
    wait = next_wait(timedelta(seconds=interval_seconds), row.reconcile_attempts)
    row.reconcile_attempts += 1
    row.reconcile_next_at = now + wait
    row.reconcile_note = f"looked up {row.reconcile_attempts} time(s); nothing final yet"
    return f"next look in {wait.total_seconds():g} s"
