"""Refunds, as PayCombat offers them: the merchant carries them out in PayCombat's dashboard.

PayCombat documents no refund API and no refund webhook (``paycombat.contract`` inference
``refund_api``). So, top to bottom:

1. ``refund_requested``: Saleor's ``TRANSACTION_REFUND_REQUESTED`` for a paid payment (from an order's
   Refund button, or from Saleor's fund release of a checkout that never became an order) is checked
   against what is left to refund, stored as a refund owed, and answered with its id as pspReference
   and no result: Saleor shows a pending ``REFUND_REQUEST``. That answer carries no ``actions``
   (Saleor 3.22+ would store them verbatim and the order page could no longer be read, see
   ``results.ActionResult``); the buttons left are owed through ``transactionUpdate`` in the same
   transaction. Something unpaid, unknown or more than what is left is refused at once, naming the
   amount left.
2. ``submit_to_paycombat``: the one place a real refund API would be called. Today it hands the refund
   to the merchant, who sees it with the exact steps on the Dashboard page or with
   ``paycombat-gateway refunds list``.
3. ``confirm_refund`` / ``decline_refund``: the merchant's answer (page or CLI) becomes
   ``REFUND_SUCCESS`` / ``REFUND_FAILURE`` for the refund's amount, owed to Saleor through the outbox
   (``gateway.reporting``) in the same transaction that records it. A second confirm reports nothing.

The sum of refunds owed and made never exceeds what was charged: each decision locks the payment row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.gateway.errors import ErrorCode
from paycombat_gateway.gateway.process import find_session
from paycombat_gateway.gateway.reporting import owe_details, owe_saleor
from paycombat_gateway.gateway.results import ActionResult
from paycombat_gateway.gateway.settlement import EventReport, SessionState, available_actions
from paycombat_gateway.money import MoneyError, quantize
from paycombat_gateway.saleor.payloads import TransactionRefundRequested
from paycombat_gateway.storage import refunds as store
from paycombat_gateway.storage.models import PaymentSession, RefundOwed, utcnow

__all__ = [
    "RefundError",
    "RefundView",
    "actions_now",
    "confirm_refund",
    "decline_refund",
    "list_refunds",
    "refund_requested",
    "refund_steps",
    "submit_to_paycombat",
]

logger = logging.getLogger(__name__)


class RefundError(Exception):
    """A merchant's decision that cannot be applied; ``message`` says why, as a sentence."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class RefundView:
    """A refund owed or decided, with what the merchant needs to carry it out."""

    id: str
    amount: Decimal
    currency: str
    state: str
    payin_id: str | None
    checkout_id: str | None
    source_type: str
    source_id: str | None
    order_number: str | None
    saleor_transaction_id: str
    channel: str
    requested_by: str
    requested_at: datetime
    paycombat_reference: str | None
    decline_reason: str | None
    decided_by: str | None
    decided_at: datetime | None

    @property
    def steps(self) -> list[str]:
        return refund_steps(self)


def refund_steps(refund: RefundView) -> list[str]:
    """The exact steps in PayCombat's dashboard, then how to tell the app."""
    return [
        "Sign in to PayCombat's dashboard and open Features › Transaction › Refund Request.",
        f"Find payin {refund.payin_id or '(see the checkout ' + str(refund.checkout_id) + ')'} and request a "
        f"refund of {refund.amount} {refund.currency}.",
        "When PayCombat has made the refund, mark it refunded here (with PayCombat's refund reference), "
        "or decline it with the reason if PayCombat refused.",
    ]


def _view(refund: RefundOwed, payment: PaymentSession) -> RefundView:
    return RefundView(
        id=refund.id,
        amount=quantize(Decimal(refund.amount), refund.currency, exact=False),
        currency=refund.currency,
        state=refund.state,
        payin_id=refund.payin_id,
        checkout_id=payment.checkout_id,
        source_type=refund.source_type,
        source_id=refund.source_id,
        order_number=refund.order_number,
        saleor_transaction_id=payment.saleor_transaction_id,
        channel=payment.channel_slug,
        requested_by=refund.requested_by,
        requested_at=refund.requested_at,
        paycombat_reference=refund.paycombat_reference,
        decline_reason=refund.decline_reason,
        decided_by=refund.decided_by,
        decided_at=refund.decided_at,
    )


def _charged(payment: PaymentSession) -> Decimal:
    charged = payment.paid_amount if payment.paid_amount is not None else payment.amount
    return quantize(Decimal(charged), payment.currency, exact=False)


def _left(session: Session, payment: PaymentSession) -> Decimal:
    """Charged and neither refunded nor owed back yet."""
    committed = quantize(store.committed_amount(session, payment.id), payment.currency, exact=False)
    return _charged(payment) - committed


def actions_now(session: Session, payment: PaymentSession) -> tuple[str, ...]:
    """The Dashboard buttons this payment offers right now (read by the outbox worker at delivery)."""
    return available_actions(SessionState(payment.state), _left(session, payment))


# --- 1. Saleor asks for a refund ------------------------------------------------------------------

_UNPAID = {
    SessionState.INITIALIZING: "it is still being created",
    SessionState.ACTION_REQUIRED: "the shopper has not paid",
    SessionState.PENDING: "the payment is still pending",
    SessionState.FAILED: "the payment failed",
    SessionState.EXPIRED: "it expired unpaid",
    SessionState.CANCELLED: "it was cancelled",
}


def _refused(amount: Decimal, code: ErrorCode, message: str, actions: tuple[str, ...]) -> ActionResult:
    """A refusal without pspReference: it fails Saleor's pending request and, unlike one under the
    checkout id, is never taken by Saleor for an earlier refusal of the same amount."""
    return ActionResult("REFUND_FAILURE", None, amount, f"{code.value}: {message}", actions=actions)


def refund_requested(
    ctx: GatewayContext, installation_id: int, payload: TransactionRefundRequested
) -> ActionResult:
    requested = payload.action.amount
    found = find_session(ctx, installation_id, payload.transaction.id, payload.transaction.psp_reference)
    if found is None:
        return _refused(
            requested,
            ErrorCode.PAYMENT_NOT_FOUND,
            "This app did not start this payment, so it cannot refund it.",
            (),
        )
    try:
        amount = quantize(requested, found.currency)
    except MoneyError as exc:
        return _refused(requested, ErrorCode.INVALID_AMOUNT, f"{exc}.", ())
    if payload.action.currency.upper() != found.currency.upper():
        return _refused(
            requested,
            ErrorCode.CURRENCY_MISMATCH,
            f"This payment is in {found.currency}, not {payload.action.currency}.",
            (),
        )
    source_type = "order" if payload.transaction.order else "checkout"
    source = payload.transaction.order or payload.transaction.checkout or {}
    principal = payload.issuing_principal
    if principal is not None:
        requested_by = principal.describe()
    elif source_type == "checkout":
        requested_by = "Saleor (fund release of a checkout never completed)"
    else:
        requested_by = "Saleor"
    request_key = f"{payload.transaction.id}|{payload.issued_at}|{amount}" if payload.issued_at else None
    with ctx.database.session() as session:
        payment = store.lock_payment(session, found.id)
        if payment is None:
            return _refused(amount, ErrorCode.PAYMENT_NOT_FOUND, "The payment record disappeared.", ())
        if request_key and (again := store.find_by_request_key(session, installation_id, request_key)):
            return ActionResult(None, again.id)  # a redelivery: its buttons are already owed
        state = SessionState(payment.state)
        if not state.is_paid:
            return _refused(
                amount,
                ErrorCode.NOT_PAID,
                f"Nothing was charged on this PayCombat checkout ({_UNPAID[state]}), "
                "so there is nothing to refund.",
                available_actions(state, Decimal(0)),
            )
        left = _left(session, payment)
        if amount <= 0:
            return _refused(
                amount,
                ErrorCode.INVALID_AMOUNT,
                "A refund must be of more than zero.",
                available_actions(state, left),
            )
        if amount > left:
            return _refused(
                amount,
                ErrorCode.OVER_REFUND,
                f"{amount} {payment.currency} is more than the {left} {payment.currency} left to "
                f"refund on this payment (charged {_charged(payment)} {payment.currency}).",
                available_actions(state, left),
            )
        refund = store.add_refund(
            session,
            installation_id=installation_id,
            payment_session_id=payment.id,
            request_key=request_key,
            amount=amount,
            currency=payment.currency,
            payin_id=payment.payin_id,
            source_type=source_type,
            source_id=str(source.get("id")) if source.get("id") else None,
            order_number=str(source["number"])[:64]
            if source_type == "order" and source.get("number")
            else None,
            requested_by=requested_by[:255],
            granted_refund_id=payload.granted_refund.id if payload.granted_refund else None,
        )
        view = _view(refund, payment)
        owe_details(session, payment, ctx.settings.app_url, occasion=refund.id)  # Refund while any is left
    logger.info("refund %s of %s %s owed on checkout %s", view.id, amount, view.currency, view.checkout_id)
    submit_to_paycombat(ctx, view)
    return ActionResult(None, view.id)


# --- 2. where PayCombat would refund ---------------------------------------------------------------


def submit_to_paycombat(ctx: GatewayContext, refund: RefundView) -> None:
    """Carry ``refund`` out at PayCombat. THE place a PayCombat refund API plugs in.

    PayCombat has none (inference ``refund_api``): the refund stays owed and the merchant carries it
    out in PayCombat's dashboard, then confirms or declines it here. With a real API this would call
    it (the refund id as idempotency key) and, on PayCombat's answer or refund webhook, call
    ``confirm_refund`` / ``decline_refund`` exactly as the merchant does today."""
    logger.info("refund %s waits for the merchant: PayCombat has no refund API", refund.id)


# --- 3. the merchant's answer ----------------------------------------------------------------------


def _decide(
    ctx: GatewayContext,
    refund_id: str,
    installation_id: int | None,
    *,
    refunded: bool,
    note: str | None,
    decided_by: str,
) -> tuple[RefundView, bool]:
    """Record the merchant's answer and owe Saleor its event; the refund and whether this call
    changed it (False: it already had this answer, nothing new is reported)."""
    wanted = store.REFUNDED if refunded else store.DECLINED
    with ctx.database.session() as session:
        refund = store.get_refund(session, refund_id.strip(), for_update=True)
        if refund is None or (installation_id is not None and refund.installation_id != installation_id):
            raise RefundError("NOT_FOUND", f"No refund has the id {refund_id!r}.")
        payment = store.lock_payment(session, refund.payment_session_id)
        assert payment is not None  # the foreign key keeps it
        if refund.state == wanted:
            return _view(refund, payment), False
        if refund.state != store.OWED:
            raise RefundError(
                "ALREADY_DECIDED",
                f"Refund {refund.id} was already marked {refund.state}; ask for a new refund in Saleor instead.",
            )
        refund.state = wanted
        refund.decided_by = decided_by[:255]
        refund.decided_at = utcnow()
        if refunded:
            refund.paycombat_reference = note
        else:
            refund.decline_reason = note
        session.flush()
        amount = quantize(Decimal(refund.amount), refund.currency, exact=False)
        if refunded:
            message = f"Refunded {amount} {refund.currency} through PayCombat's dashboard" + (
                f" (PayCombat refund reference {note})." if note else "."
            )
        else:
            message = f"The refund of {amount} {refund.currency} was declined: {note}"
            message += "" if message.endswith((".", "!", "?")) else "."
        owe_saleor(
            session,
            payment,
            EventReport(
                event_type="REFUND_SUCCESS" if refunded else "REFUND_FAILURE",
                psp_reference=refund.id,  # the pending REFUND_REQUEST's, so Saleor settles that one
                amount=amount,
                message=message,
                available_actions=actions_now(session, payment),
            ),
            ctx.settings.app_url,
        )
        return _view(refund, payment), True


def confirm_refund(
    ctx: GatewayContext,
    refund_id: str,
    *,
    reference: str | None,
    decided_by: str,
    installation_id: int | None = None,
) -> tuple[RefundView, bool]:
    """The merchant has refunded in PayCombat: Saleor gets ``REFUND_SUCCESS`` (once)."""
    cleaned = (reference or "").strip() or None
    if cleaned is not None and len(cleaned) > 255:
        raise RefundError("INVALID", "PayCombat's refund reference is longer than 255 characters.")
    return _decide(ctx, refund_id, installation_id, refunded=True, note=cleaned, decided_by=decided_by)


def decline_refund(
    ctx: GatewayContext,
    refund_id: str,
    *,
    reason: str,
    decided_by: str,
    installation_id: int | None = None,
) -> tuple[RefundView, bool]:
    """The refund will not happen: Saleor gets ``REFUND_FAILURE`` and the amount can be refunded again."""
    cleaned = " ".join(reason.split())
    if not cleaned:
        raise RefundError("REASON_REQUIRED", "Say why the refund is declined; Saleor shows it on the order.")
    return _decide(ctx, refund_id, installation_id, refunded=False, note=cleaned[:400], decided_by=decided_by)


def list_refunds(
    ctx: GatewayContext, *, installation_id: int | None = None, states: tuple[str, ...] | None = None
) -> list[RefundView]:
    with ctx.database.session(readonly=True) as session:
        return [
            _view(refund, payment)
            for refund, payment in store.list_refunds(session, installation_id=installation_id, states=states)
        ]
