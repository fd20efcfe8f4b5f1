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

Each instance runs one ``Reconciler`` thread, like the outbox worker: its work is database writes and
PayCombat calls through the client's blocking transport, and a thread keeps all of it off the event
loop at the cost of one thread per instance, never one per payment. Payments are leased one instance
at a time (``storage.reconciliation``). Calls are paced per configuration
(``RECONCILE_CALLS_PER_SECOND``), so a backlog of thousands never floods PayCombat; a configuration
whose PayCombat fails is paused with a growing wait, its payments given back unchanged, and picked up
where it stopped when PayCombat answers again.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from paycombat_gateway.gateway.background import BackgroundLoop
from paycombat_gateway.gateway.blocking import in_thread
from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.gateway.inbound import NewsSource, record_payin_news
from paycombat_gateway.gateway.settlement import SessionState
from paycombat_gateway.gateway.snapshots import SessionSnapshot, snapshot
from paycombat_gateway.metrics import record_reconciler_lookup, set_reconciler_paused
from paycombat_gateway.paycombat import errors
from paycombat_gateway.paycombat.client import AsyncPaycombatClient, PaycombatClient
from paycombat_gateway.paycombat.contract import WebhookKind
from paycombat_gateway.paycombat.models import Payin
from paycombat_gateway.paycombat.webhooks import PaycombatWebhook, parse_webhook
from paycombat_gateway.settings import ReconcileSettings
from paycombat_gateway.storage.models import PaymentSession, utcnow
from paycombat_gateway.storage.reconciliation import OPEN_STATES, claim_for_reconciliation, release_claims

__all__ = [
    "EXPIRY_GRACE",
    "MAX_INTERVAL",
    "Finding",
    "Reconciler",
    "ask_before_answering",
    "find_payins",
    "find_payins_async",
    "learn_from_paycombat",
    "next_wait",
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

    def line(self) -> str:
        return (
            f"{self.merchant_reference}  checkout {self.checkout_id or '-'}: {self.found} -> {self.outcome}"
        )


def _finding(
    payment: SessionSnapshot,
    found: str,
    outcome: str,
    amount: Decimal | None = None,
    tally: str = "not looked up",
) -> Finding:
    return Finding(payment.id, payment.merchant_reference, payment.checkout_id, found, outcome, amount, tally)


def find_payins(client: PaycombatClient, payment: SessionSnapshot) -> list[Payin]:
    """PayCombat's payins of ``payment``: the one a webhook named, else those carrying our reference.

    Retrieve Payin's answer counts only when it is the payin asked for, and a listed payin only when
    its reference is exactly ours (``payin_belongs``, ``transaction_lookup_confirmed``); either must
    then prove it is about this payment in ``inbound.not_about``, and its currency and amount are
    judged by the settlement rules, as a webhook's would be.
    """
    if payment.payin_id:
        try:
            if asked := _as_asked(client.retrieve_payin(payment.payin_id), payment):
                return asked
        except errors.NotFoundError:
            pass  # fall back to the reference: the id may be one PayCombat does not serve here
    return _ours(client.get_all_transaction(reference=payment.merchant_reference), payment)


async def find_payins_async(client: AsyncPaycombatClient, payment: SessionSnapshot) -> list[Payin]:
    """``find_payins`` on the event loop (``transactionProcess``: no thread waits on PayCombat)."""
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


def _as_news(payins: list[Payin]) -> list[tuple[PaycombatWebhook, bytes]]:
    """Payins as the statements a webhook would have made; only the successes when there is one (a
    failure listed beside a success must not be reported after it)."""
    news = []
    for payin in payins:
        raw = payin.model_dump_json().encode()
        try:
            news.append((parse_webhook(raw), raw))
        except errors.InvalidRequestError as exc:  # e.g. an amount that is not a number: not news
            logger.warning("reconciler: PayCombat's payin %s cannot be read: %s", payin.id, exc.message)
    paid = [(event, raw) for event, raw in news if event.kind is WebhookKind.PAYIN_SUCCESS]
    return paid or news


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


def _expiry(payment: SessionSnapshot) -> datetime | None:
    """When the shopper can no longer pay: the checkout's expiry, or a KRW virtual account's if later."""
    moments = [payment.expires_at]
    if payment.virtual_account:
        moments.append(payment.virtual_account.get("expires_at"))
    parsed = []
    for moment in moments:
        try:
            parsed.append(datetime.fromisoformat(str(moment)))
        except ValueError:
            continue
    return max(parsed) if parsed else None


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
        elif row.held_reason and row.state != SessionState.SUCCEEDED.value:
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
    learn_from_paycombat(ctx, payment, _as_news(payins), source=NewsSource.PROCESS)
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


class _Pacer:
    """At most ``rate`` calls a second, spaced evenly (per configuration, in this instance)."""

    def __init__(self, rate: float) -> None:
        self._spacing = 1.0 / rate
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self, stop: threading.Event) -> bool:
        """Wait for the next slot; False if ``stop`` was set meanwhile."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._spacing
        return slot <= now or not stop.wait(slot - now)


class Reconciler:
    """One instance's reconciler: a thread that runs passes, or one pass on demand (the CLI)."""

    def __init__(
        self,
        ctx: GatewayContext,
        settings: ReconcileSettings | None = None,
        *,
        on_report_enqueued: Callable[[], None] = lambda: None,
        batch: int = _BATCH,
    ) -> None:
        self.ctx = ctx
        self.settings = settings or ctx.settings.reconcile
        self.worker_id = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}-reconcile"
        self.poll_seconds = min(self.settings.interval_seconds, 10.0)
        self.batch = batch
        self._on_report_enqueued = on_report_enqueued
        self._pacers: dict[str, _Pacer] = {}
        self._paused: dict[str, tuple[float, int]] = {}  # config id -> (monotonic resume time, outages)
        self._loop = BackgroundLoop(
            "reconciler", lambda: len(self.run_once()), batch=batch, poll_seconds=self.poll_seconds
        )
        self._stop = self._loop.stopping

    # --- the background loop --------------------------------------------------------------------

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()

    # --- one pass -------------------------------------------------------------------------------

    def run_once(self) -> list[Finding]:
        """Look up one batch of the payments that are due; what was found for each."""
        return self._batch(since=None, after_id=None, dry_run=False)

    def run_pass(self, *, since: timedelta | None = None, dry_run: bool = False) -> Iterator[Finding]:
        """An operator's pass (``paycombat-gateway reconcile``): every open payment created within
        ``since`` (all when None), due or not, in id order; ``dry_run`` records and reschedules nothing."""
        last_id = 0
        while batch := self._batch(since=since, after_id=last_id, dry_run=dry_run):
            yield from batch
            last_id = max(finding.session_id for finding in batch)

    def _batch(self, *, since: timedelta | None, after_id: int | None, dry_run: bool) -> list[Finding]:
        now = utcnow()
        lease = timedelta(seconds=max(60.0, 3 * self.batch / self.settings.calls_per_second))

        def claim(session: Session) -> list[SessionSnapshot]:
            rows = claim_for_reconciliation(
                session,
                self.worker_id,
                now=now,
                open_for=timedelta(seconds=self.settings.after_seconds),
                limit=self.batch,
                lease=lease,
                skip_configs=self._paused_now() if after_id is None else (),
                created_since=now - since if since is not None else None,
                after_id=after_id,
            )
            return [snapshot(row) for row in rows]

        findings: list[Finding] = []
        given_back: list[int] = []
        down: set[str] = set()  # configurations whose PayCombat failed during this batch
        for payment in self.ctx.database.run(claim):
            if self._stop.is_set() or payment.config_id in down:
                given_back.append(payment.id)  # keep its place for the next pass
                why = "stopping" if self._stop.is_set() else "PayCombat was unavailable"
                findings.append(_finding(payment, f"not looked up: {why}", "its place is kept"))
                continue
            finding = self._look(payment, dry_run=dry_run)
            record_reconciler_lookup(finding.tally)
            if finding.tally == "unavailable":
                down.add(payment.config_id)
            findings.append(finding)
        self._release(given_back)
        set_reconciler_paused(len(self._paused_now()))
        return findings

    def _paused_now(self) -> set[str]:
        return {config_id for config_id, (until, _) in self._paused.items() if until > time.monotonic()}

    def _release(self, session_ids: list[int]) -> None:
        if not session_ids:
            return
        with self.ctx.database.session() as session:
            release_claims(session, self.worker_id, session_ids)

    def _look(self, payment: SessionSnapshot, *, dry_run: bool) -> Finding:
        config = self.ctx.configs.by_id(payment.config_id)
        if config is None:
            self._release([payment.id])
            return _finding(payment, "its PayCombat configuration is gone", "not looked up")
        pacer = self._pacers.setdefault(config.id, _Pacer(self.settings.calls_per_second))
        if not pacer.wait(self._stop):
            self._release([payment.id])
            return _finding(payment, "not looked up: stopping", "its place is kept")
        try:
            payins = find_payins(self.ctx.paycombat.for_config(config), payment)
        except errors.PaycombatError as exc:
            self._pause(config.id)
            self._release([payment.id])
            return _finding(
                payment,
                f"PayCombat unavailable: {exc.message}",
                "paused; its place is kept",
                tally="unavailable",
            )
        self._paused.pop(config.id, None)
        news = _as_news(payins)
        found, tally = _describe(news), (_word(news[0][0]) if news else "nothing yet")
        amount = news[0][0].amount if news else None
        if dry_run:
            self._release([payment.id])
            return _finding(payment, found, "dry run: nothing recorded", amount, tally)
        enqueued, outcome = learn_from_paycombat(
            self.ctx, payment, news, source=NewsSource.RECONCILIATION, schedule=self._schedule
        )
        if enqueued:
            self._on_report_enqueued()
        return _finding(payment, found, outcome, amount, tally)

    def _pause(self, config_id: str) -> None:
        _, outages = self._paused.get(config_id, (0.0, 0))
        wait = next_wait(timedelta(seconds=self.poll_seconds), outages).total_seconds()
        self._paused[config_id] = (time.monotonic() + wait, outages + 1)
        logger.warning(
            "reconciler: PayCombat unavailable for configuration %s; paused %.0f s", config_id, wait
        )

    def _schedule(self, row: PaymentSession, found_something: bool) -> str:
        """The payment's next look (on its locked row), or the end of looking; what was decided."""
        now = utcnow()
        if row.reconcile_claimed_by not in (self.worker_id, None):
            return "another instance holds it now"
        row.reconcile_claimed_by = None
        row.reconcile_claimed_until = None
        if row.state not in OPEN_STATES:
            row.reconcile_next_at = None
            row.reconcile_note = f"settled ({row.state})"
            return "settled"
        expiry = _expiry(snapshot(row))
        if expiry is not None and now > expiry + EXPIRY_GRACE:
            # Past its expiry and still not final: with no payin nothing will come; with one (held for
            # review, say) looking again cannot change it. Either way a person, not a loop, is next.
            what = "with nothing final" if found_something else "without a payin"
            row.reconcile_stopped_at = now
            row.reconcile_note = f"expired at PayCombat {what}: no longer looked up"
            return f"expired {what}: stopped looking"
        wait = next_wait(timedelta(seconds=self.settings.interval_seconds), row.reconcile_attempts)
        row.reconcile_attempts += 1
        row.reconcile_next_at = now + wait
        row.reconcile_note = f"looked up {row.reconcile_attempts} time(s); nothing final yet"
        return f"next look in {wait.total_seconds():g} s"
