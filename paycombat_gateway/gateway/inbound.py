"""PayCombat webhooks: authenticate, store durably, deduplicate, match, and owe Saleor the event.

``record_payin_news`` is where every statement of PayCombat's about a payin meets, whoever brought it:
this webhook route, the reconciler (``gateway/reconcile.py``) and ``transactionProcess``. It alone
decides the Saleor event and writes to the outbox, so one event is reported once however many times,
and by however many paths, it arrives.

Everything after authentication happens in ONE database transaction (delivery row, session update,
outbox row), committed before PayCombat gets its 2xx (a delivery that names none of this app's
references and matches no payment, a replay of one included, is one statement:
``storage.inbox.store_unless_matched``). A crash at any point either loses nothing or makes PayCombat
deliver again, and the second copy is recognised as a duplicate. Unmatched deliveries are kept and
visible, never dropped. How a payin is matched to its checkout is a contract inference
(``payin_checkout_link``): our merchant reference travels as the checkout's ``description`` and comes
back in the payin's ``order_reference`` / ``transaction``.

Before a payin changes anything it must prove it is about this payment (``contract`` inference
``payin_belongs``): one reference field at least is exactly our merchant reference, none names another
of this app's payments, and every checkout it names is ours. One that does not is kept, logged and ignored. A success that proves no payment (no amount, not
more than zero, another currency, finer than the minor unit: ``settlement.unproven``) holds the
payment for review: its reason, with PayCombat's own words, is stored on the payment and logged.

A delivery ignored or held is stored under a key of its own bytes, not the event's: it changed
nothing, so it must not make the correct copy of the same event (or the payin's own webhook to the
payment it really belongs to), arriving later, look like a duplicate.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.gateway.reporting import owe_saleor
from paycombat_gateway.gateway.settlement import PayinNotice, SessionState, Transition, apply_notice
from paycombat_gateway.gateway.snapshots import SessionSnapshot, snapshot
from paycombat_gateway.metrics import record_webhook
from paycombat_gateway.paycombat import errors
from paycombat_gateway.paycombat.contract import PAYIN_CHECKOUT_FIELDS, PAYIN_REFERENCE_FIELDS, WebhookKind
from paycombat_gateway.paycombat.webhooks import PaycombatWebhook, parse_webhook, verify_and_parse
from paycombat_gateway.storage.inbox import record_delivery, store_unless_matched
from paycombat_gateway.storage.models import PaycombatConfig, PaymentSession, utcnow
from paycombat_gateway.storage.sessions import MERCHANT_REFERENCE_PREFIX

__all__ = [
    "InboundResult",
    "NewsSource",
    "Recorded",
    "not_about",
    "receive_paycombat_webhook",
    "record_payin_news",
]

logger = logging.getLogger(__name__)
_KEPT_HEADERS = ("content-type", "user-agent", "x-request-id", "x-forwarded-for")


@dataclass(frozen=True, slots=True)
class InboundResult:
    status_code: int
    body: dict[str, Any]
    report_enqueued: bool = False


def _refused(status: int, code: str, message: str) -> InboundResult:
    return InboundResult(status, {"status": False, "error": {"code": code, "message": message}})


async def _authenticate(
    ctx: GatewayContext, config: PaycombatConfig, raw_body: bytes, signature: str | None
) -> PaycombatWebhook:
    keys = ctx.paycombat.credentials_for(config)
    if signature:
        return verify_and_parse(raw_body, signature, keys.signature_key)
    if not config.allow_unsigned_webhooks:
        raise errors.SignatureError("unsigned deliveries are refused by this configuration")
    # The docs call X-Signature optional. Trust only what PayCombat itself confirms: re-read the payin.
    claimed = parse_webhook(raw_body)
    if not claimed.object_id or claimed.kind not in {
        WebhookKind.PAYIN_SUCCESS,
        WebhookKind.PAYIN_FAILED,
        WebhookKind.PAYIN_EXPIRED,
        WebhookKind.PAYIN_PENDING,
    }:
        raise errors.SignatureError("an unsigned delivery must name a payin PayCombat can confirm")
    # Awaited on the event loop, by the quick client's deadline, within this configuration's share of
    # look-ups (a few at once, a few a second): beyond it the delivery is refused with a 503 at once,
    # so a slow PayCombat or an outsider posting unsigned bodies holds no one else's webhooks and
    # spends little of the merchant's PayCombat quota.
    async with ctx.unsigned_lookups.admitted(config.id) as admitted:
        if not admitted:
            raise errors.RateLimitedError("too many unsigned deliveries to confirm at once; retry later")
        try:
            payin = await ctx.paycombat.async_for_config(config, quick=True).retrieve_payin(claimed.object_id)
        except errors.NotFoundError:
            raise errors.SignatureError(
                "PayCombat does not know the payin this unsigned delivery names"
            ) from None
    confirmed = parse_webhook(payin.model_dump_json().encode())
    if confirmed.object_id != claimed.object_id:  # inference ``payin_belongs``: the id asked for
        raise errors.SignatureError(
            "PayCombat answered another payin than the one this unsigned delivery names"
        )
    return confirmed


class NewsSource(StrEnum):
    """Where a statement of PayCombat's came from; the inbox and the payment keep it."""

    WEBHOOK = "webhook"
    RECONCILIATION = "reconciliation"  # the reconciler looked the payment up (gateway/reconcile.py)
    PROCESS = "process"  # transactionProcess asked PayCombat before answering


@dataclass(frozen=True, slots=True)
class Recorded:
    """What one piece of PayCombat news did to the app's records."""

    duplicate: bool
    report_enqueued: bool
    held: bool = False  # the payment is held for the merchant's review (``metrics``: webhook outcome)
    ignored: bool = False  # a payin not about the payment it named (``not_about``): changed nothing


_MATCH = (
    select(PaymentSession)
    .where(
        PaymentSession.merchant_reference.in_(bindparam("references", expanding=True)),
        PaymentSession.config_id == bindparam("config_id"),
    )
    .with_for_update()
)  # built once: only the references and the configuration change between deliveries


def _match(
    session: Session, event: PaycombatWebhook, config_id: str, payment_session_id: int | None
) -> PaymentSession | None:
    if payment_session_id is not None:  # the caller looked this payment up itself
        return session.get(PaymentSession, payment_session_id, with_for_update=True)
    if not event.references:
        return None
    return session.scalars(_MATCH, {"references": list(event.references), "config_id": config_id}).first()


@dataclass(frozen=True, slots=True)
class _Decision:
    """What a matched delivery does to its payment, decided before anything is written."""

    note: str
    transition: Transition | None = None
    virtual_account: dict[str, Any] | None = None
    kept_apart: bool = False  # ignored or held: stored under its own bytes' key, never the event's
    ignored: bool = False  # not about this payment (``not_about``)


_PAYIN_KINDS = frozenset(
    {
        WebhookKind.PAYIN_SUCCESS,
        WebhookKind.PAYIN_FAILED,
        WebhookKind.PAYIN_EXPIRED,
        WebhookKind.PAYIN_PENDING,
    }
)


def not_about(row: PaymentSession | SessionSnapshot, event: PaycombatWebhook) -> str | None:
    """Why a payin is not about ``row``'s payment (``contract`` inference ``payin_belongs``); None when
    it proves it is: one reference field at least holds exactly our merchant reference, none holds
    another of this app's references, and every checkout it names is this payment's. A reference
    field holding a value that is not this app's (PayCombat's own, say) proves nothing either way.
    The id is checked where it was asked for or signed."""
    named = [ref for field in PAYIN_REFERENCE_FIELDS if (ref := event.named(field))]
    if row.merchant_reference not in named:
        return "it names no merchant reference of this payment's"
    ours = row.merchant_reference
    if others := [ref for ref in named if ref.startswith(MERCHANT_REFERENCE_PREFIX) and ref != ours]:
        return f"it names merchant reference {others[0][:80]!r}, another payment's"
    for field, attribute in PAYIN_CHECKOUT_FIELDS.items():
        checkout = event.named(field)
        if checkout is not None and checkout != getattr(row, attribute):
            return f"it names {field} {checkout[:80]!r}, not this payment's"
    return None


def _decide(row: PaymentSession, event: PaycombatWebhook) -> _Decision:
    kind = event.kind
    if kind is WebhookKind.PAYOUT and event.status == "FAILED":
        kind = WebhookKind.PAYIN_FAILED  # PAYIN FAILED's documented example is payout-shaped
    if kind in _PAYIN_KINDS and (why := not_about(row, event)) is not None:
        logger.warning(
            "PayCombat payin %s ignored, not about this payment (checkout %s): %s",
            event.object_id, row.checkout_id, why,
        )  # fmt: skip
        return _Decision(note=f"ignored, not about this payment: {why}", kept_apart=True, ignored=True)
    if kind is WebhookKind.VA_REGISTER:
        account = None
        if event.status == "APPROVED":
            account = {
                "bank_name": event.body.get("bank_name"),
                "account_number": event.body.get("account_number"),
                "account_holder": event.body.get("account_holder"),
                "expires_at": event.body.get("expire_at"),
            }
        return _Decision(
            note=f"virtual account {event.status or ''}".strip().lower(), virtual_account=account
        )
    transition = apply_notice(
        snapshot(row).view(),
        PayinNotice(
            kind=kind,
            payin_id=event.object_id,
            amount=event.amount,
            currency=event.currency,
            payment_method=event.payment_method,
        ),
    )
    if transition.held is not None:
        reason = (
            f"payin {event.object_id or '(no id)'}: {transition.held}. PayCombat said: {event.own_words()}"
        )
        logger.warning(
            "payment held for review, nothing reported to Saleor (checkout %s): %s", row.checkout_id, reason
        )
        return _Decision(note=f"held for review: {reason}"[:1000], transition=transition, kept_apart=True)
    return _Decision(note=transition.note, transition=transition)


def _carry_out(
    session: Session,
    row: PaymentSession,
    decision: _Decision,
    delivery_id: int,
    source: NewsSource,
    app_url: str,
) -> bool:
    """Apply a decision to the payment and owe Saleor its event; True when a report was enqueued."""
    if decision.virtual_account is not None:
        row.virtual_account = decision.virtual_account
    transition = decision.transition
    if transition is None:
        return False
    if transition.held is not None:
        row.held_reason = decision.note.removeprefix("held for review: ")
        row.held_at = utcnow()
        return False
    already_paid = row.state == SessionState.SUCCEEDED.value
    row.state = transition.state.value
    if transition.state.is_final:
        row.held_reason = row.held_at = None  # proven since, or finished otherwise: no longer held
    if transition.payin_id and not already_paid:
        row.payin_id = transition.payin_id
    if transition.paid_amount is not None:
        row.paid_amount = transition.paid_amount
    row.amount_mismatch = row.amount_mismatch or transition.amount_mismatch
    if transition.payment_method and not row.payin_method_name:
        row.payin_method_name = transition.payment_method  # names the transaction in Saleor
    if transition.report is None:
        return False
    report = transition.report
    created = owe_saleor(session, row, report, app_url, delivery_id=delivery_id)
    if created and report.event_type in _OUTCOMES and row.settled_by is None:
        row.settled_by = source.value
    return created


_OUTCOMES = frozenset({"CHARGE_SUCCESS", "CHARGE_FAILURE"})


def _unmatched_note(event: PaycombatWebhook) -> str:
    return "no payment of this app carries these references: " + ", ".join(event.references)[:200]


def _unmatched_state(event: PaycombatWebhook) -> str:
    return "unmatched" if event.kind is not WebhookKind.PAYOUT else "ignored"


def record_payin_news(
    session: Session,
    *,
    config_id: str,
    event: PaycombatWebhook,
    raw_body: bytes,
    source: NewsSource,
    app_url: str,
    headers: dict[str, str] | None = None,
    signature_valid: bool = False,
    payment_session_id: int | None = None,
) -> Recorded:
    """The one place where PayCombat's word about a payin becomes the payment's state and the Saleor
    event owed, whoever brought it: a webhook, the reconciler or ``transactionProcess``.

    The statement is stored in the inbox under the same deduplication key whatever its source, so the
    second telling of one event (the webhook arriving after the reconciler found the payin) is a
    duplicate and changes nothing. Runs inside the caller's transaction.
    """
    row = _match(session, event, config_id, payment_session_id)
    if row is not None:
        decision = _decide(row, event)
        # Ignored or held: shown among the deliveries that need a person.
        match_state = "unmatched" if decision.kept_apart else "matched"
    else:
        decision, match_state = _Decision(note=_unmatched_note(event)), _unmatched_state(event)
    delivery, duplicate = record_delivery(
        session,
        config_id=config_id,
        raw_body=raw_body,
        headers=headers or {},
        signature_valid=signature_valid,
        dedupe_key=f"held:{hashlib.sha256(raw_body).hexdigest()}"
        if decision.kept_apart
        else event.dedupe_key,
        kind=event.kind.value,
        payin_id=event.object_id,
        match_state=match_state,
        payment_session_id=row.id if row is not None else None,
        note=decision.note,
        source=source.value,
    )
    if duplicate or delivery is None:
        return Recorded(duplicate=True, report_enqueued=False)
    enqueued = _carry_out(session, row, decision, delivery, source, app_url) if row is not None else False
    held = decision.transition is not None and decision.transition.held is not None
    return Recorded(duplicate=False, report_enqueued=enqueued, held=held, ignored=decision.ignored)


async def receive_paycombat_webhook(
    ctx: GatewayContext,
    config_id: str,
    raw_body: bytes,
    headers: dict[str, str],
    *,
    store: Callable[[Callable[[], Recorded]], Awaitable[Recorded]],
) -> InboundResult:
    """Authenticate a PayCombat delivery on the event loop, then record it; ``store`` runs the
    recording (database work only) in a worker thread."""
    result, outcome = await _receive(ctx, config_id, raw_body, headers, store)
    record_webhook(outcome)
    return result


async def _receive(
    ctx: GatewayContext,
    config_id: str,
    raw_body: bytes,
    headers: dict[str, str],
    store: Callable[[Callable[[], Recorded]], Awaitable[Recorded]],
) -> tuple[InboundResult, str]:
    """What to answer PayCombat, and the delivery's outcome for ``metrics``."""
    config = await ctx.configs.by_id_async(config_id)
    if config is None:
        return _refused(404, "CONFIGURATION_NOT_FOUND", "No PayCombat configuration has this id."), (
            "unknown_configuration"
        )
    try:
        event = await _authenticate(ctx, config, raw_body, headers.get("x-signature"))
    except errors.SignatureError as exc:
        return _refused(401, "SIGNATURE_VERIFICATION_FAILED", exc.message), "bad_signature"
    except errors.InvalidRequestError as exc:
        return _refused(400, "CANT_BE_PARSED", exc.message), "unreadable"
    except errors.PaycombatError:
        return _refused(
            503,
            "PAYCOMBAT_UNAVAILABLE",
            "Could not confirm the unsigned delivery with PayCombat; retry later.",
        ), "paycombat_unavailable"
    kept_headers = {name: headers[name] for name in _KEPT_HEADERS if name in headers}
    signature_valid = bool(headers.get("x-signature"))

    def record() -> Recorded:
        # A delivery naming one of this app's merchant references goes straight to the transaction
        # that locks its payment and decides what the payin does to it. Anything else (an unknown
        # reference, a payout, a replay of either) most likely matches nothing: it is stored by one
        # statement, match and insert together, which hands it to that transaction only if a payment
        # does match after all.
        stored = (
            None
            if any(reference.startswith(MERCHANT_REFERENCE_PREFIX) for reference in event.references)
            else store_unless_matched(
                ctx.database,
                config_id=config.id,
                references=event.references,
                raw_body=raw_body,
                headers=kept_headers,
                signature_valid=signature_valid,
                dedupe_key=event.dedupe_key,
                kind=event.kind.value,
                payin_id=event.object_id,
                match_state=_unmatched_state(event),
                note=_unmatched_note(event),
                source=NewsSource.WEBHOOK.value,
            )
        )
        if stored is not None:
            return Recorded(duplicate=stored.duplicate, report_enqueued=False)
        with ctx.database.session() as session:
            return record_payin_news(
                session,
                config_id=config.id,
                event=event,
                raw_body=raw_body,
                source=NewsSource.WEBHOOK,
                app_url=ctx.settings.app_url,
                headers=kept_headers,
                signature_valid=signature_valid,
            )

    recorded = await store(record)
    if recorded.duplicate:
        return InboundResult(200, {"status": True, "duplicate": True}), "duplicate"
    answer = InboundResult(200, {"status": True}, report_enqueued=recorded.report_enqueued)
    return answer, "held" if recorded.held else "ignored" if recorded.ignored else "stored"
