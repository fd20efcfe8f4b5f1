"""How PayCombat's payin news changes a payment, and which Saleor event it owes.

Pure functions over small value types, so the rules that keep money right are testable on their own:

* The pspReference of every charge event is the PayCombat checkout id, the same one Saleor stored
  with the ``CHARGE_ACTION_REQUIRED`` answer. Saleor matches a ``CHARGE_SUCCESS`` to the pending
  ``CHARGE_REQUEST`` by it and deduplicates the webhook's report against ``transactionProcess``'s.
* A success is final: a late FAILED or EXPIRED after it is recorded and ignored, never reported
  (Saleor would let a newer ``CHARGE_FAILURE`` with the same pspReference cancel the charge).
* A success proves a payment only with an amount that is present, finite, more than zero, in the
  checkout's currency and exact in its minor unit (``contract`` inference ``success_proves_payment``).
  Anything else is never a charge: the payment is held for review (``Transition.held``).
* The amount reported is PayCombat's, and a difference from the requested amount is flagged (a
  smaller positive amount is a partial charge).
* A second, different successful payin on the same checkout is a second charge (the shopper paid
  twice), reported under the payin's own id so the merchant sees it and can refund.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from paycombat_gateway.money import MoneyError, quantize
from paycombat_gateway.paycombat.contract import WebhookKind
from paycombat_gateway.storage.sessions import FINAL_STATES

__all__ = [
    "ACTIONS_WHEN_CLOSED",
    "ACTIONS_WHEN_PAID",
    "ACTIONS_WHEN_PENDING",
    "EventReport",
    "PayinNotice",
    "SessionState",
    "SessionView",
    "Transition",
    "apply_notice",
    "available_actions",
    "unproven",
]


class SessionState(StrEnum):
    INITIALIZING = "initializing"
    ACTION_REQUIRED = "action_required"
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"

    @property
    def is_paid(self) -> bool:
        return self is SessionState.SUCCEEDED

    @property
    def is_final(self) -> bool:
        """A state the payment never leaves; a hold for review ends with it."""
        return self.value in FINAL_STATES


@dataclass(frozen=True, slots=True)
class SessionView:
    """What the rules need to know about a payment session."""

    state: SessionState
    checkout_id: str
    requested_amount: Decimal
    currency: str
    payin_id: str | None = None
    paid_amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PayinNotice:
    """A PayCombat statement about a payin of this session (from a webhook or Retrieve Payin)."""

    kind: WebhookKind
    payin_id: str | None
    amount: Decimal | None
    currency: str | None
    payment_method: str | None = None


@dataclass(frozen=True, slots=True)
class EventReport:
    """A ``transactionEventReport`` owed to Saleor."""

    event_type: str
    psp_reference: str
    amount: Decimal | None
    message: str
    available_actions: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    """The session's next state, the report owed (if any), and a note for the delivery log."""

    state: SessionState
    report: EventReport | None
    note: str
    payin_id: str | None = None
    paid_amount: Decimal | None = None
    amount_mismatch: bool = False
    payment_method: str | None = None
    held: str | None = None  # why a stated success proves no payment: hold it for a person, report nothing


# What the app can do for a transaction in each state; Saleor shows the matching Dashboard buttons.
# A checkout that can still be paid can be cancelled; charged money can be refunded (the merchant
# carries the refund out in PayCombat's dashboard, see gateway.refunds); nothing once it is over.
ACTIONS_WHEN_PAID: tuple[str, ...] = ("REFUND",)
ACTIONS_WHEN_PENDING: tuple[str, ...] = ("CANCEL",)
ACTIONS_WHEN_CLOSED: tuple[str, ...] = ()


def available_actions(state: SessionState, refundable: Decimal) -> tuple[str, ...]:
    """The buttons a transaction in ``state`` offers, with ``refundable`` still charged and not refunded."""
    if state.is_paid:
        return ACTIONS_WHEN_PAID if refundable > 0 else ACTIONS_WHEN_CLOSED
    if state in {SessionState.INITIALIZING, SessionState.ACTION_REQUIRED, SessionState.PENDING}:
        return ACTIONS_WHEN_PENDING
    return ACTIONS_WHEN_CLOSED


def unproven(session: SessionView, notice: PayinNotice) -> str | None:
    """Why PayCombat's stated success proves no payment of ``session``, as a phrase; None when it does."""
    amount, currency = notice.amount, notice.currency
    if amount is None:
        return "it states no amount"
    if not amount.is_finite():
        return f"its amount {amount} is not a finite number"
    if currency is None:
        return f"it names no currency (the checkout is in {session.currency})"
    if currency.upper() != session.currency.upper():
        return f"it is in {currency}, not the checkout's {session.currency}"
    if amount <= 0:
        return f"its amount {amount} {currency} is not more than zero"
    try:
        quantize(amount, session.currency)
    except MoneyError as exc:
        return f"its amount cannot be kept exactly: {exc}"
    return None


def _success(session: SessionView, notice: PayinNotice) -> Transition:
    problem = unproven(session, notice)
    if problem is not None:
        if session.state.is_paid:
            return Transition(
                state=session.state, report=None, note=f"success ignored on a paid payment: {problem}"
            )
        return Transition(state=session.state, report=None, note=f"held for review: {problem}", held=problem)
    assert notice.amount is not None  # proven above
    amount = quantize(notice.amount, session.currency)
    if session.state.is_paid:
        # A first success that named no payin cannot be told apart from this one: same payin, not a second.
        if notice.payin_id is None or session.payin_id is None or notice.payin_id == session.payin_id:
            return Transition(state=session.state, report=None, note="success already recorded")
        return Transition(
            state=session.state,
            report=EventReport(
                event_type="CHARGE_SUCCESS",
                psp_reference=notice.payin_id,
                amount=amount,
                message=f"Second PayCombat payin {notice.payin_id} on checkout {session.checkout_id}: "
                "the shopper paid twice. Refund it from the PayCombat dashboard.",
                available_actions=ACTIONS_WHEN_PAID,
            ),
            note="second successful payin on a paid checkout",
            payin_id=session.payin_id,
            paid_amount=session.paid_amount,
            amount_mismatch=True,
        )
    mismatch = amount != session.requested_amount
    message = f"Paid through PayCombat (payin {notice.payin_id}"
    message += f", {notice.payment_method})." if notice.payment_method else ")."
    if mismatch:
        message += f" Amount differs: requested {session.requested_amount}, paid {amount} {session.currency}."
    return Transition(
        state=SessionState.SUCCEEDED,
        report=EventReport(
            event_type="CHARGE_SUCCESS",
            psp_reference=session.checkout_id,
            amount=amount,
            message=message,
            available_actions=ACTIONS_WHEN_PAID,
        ),
        note="amount differs from the requested amount" if mismatch else "paid",
        payin_id=notice.payin_id,
        paid_amount=amount,
        amount_mismatch=mismatch,
        payment_method=notice.payment_method,
    )


def _failure(session: SessionView, notice: PayinNotice, state: SessionState, what: str) -> Transition:
    if session.state.is_paid:
        return Transition(state=session.state, report=None, note=f"late {what} after success ignored")
    if session.state is state:
        return Transition(state=session.state, report=None, note=f"{what} already recorded")
    return Transition(
        state=state,
        report=EventReport(
            event_type="CHARGE_FAILURE",
            psp_reference=session.checkout_id,
            amount=session.requested_amount,
            message=f"PayCombat payin {notice.payin_id or ''} {what}".replace("  ", " ").strip() + ".",
            available_actions=ACTIONS_WHEN_CLOSED,
        ),
        note=what,
        payin_id=notice.payin_id or session.payin_id,
    )


def _pending(session: SessionView, notice: PayinNotice) -> Transition:
    if session.state not in {SessionState.ACTION_REQUIRED, SessionState.INITIALIZING}:
        return Transition(state=session.state, report=None, note="pending notice does not change the payment")
    return Transition(
        state=SessionState.PENDING,
        report=EventReport(
            event_type="CHARGE_REQUEST",
            psp_reference=session.checkout_id,
            amount=session.requested_amount,
            message="PayCombat is waiting for the shopper's transfer.",
            available_actions=ACTIONS_WHEN_PENDING,
        ),
        note="pending",
        payin_id=notice.payin_id,
    )


def apply_notice(session: SessionView, notice: PayinNotice) -> Transition:
    """The transition a payin notice causes; idempotent for a notice already applied."""
    if notice.kind is WebhookKind.PAYIN_SUCCESS:
        return _success(session, notice)
    if notice.kind is WebhookKind.PAYIN_FAILED:
        return _failure(session, notice, SessionState.FAILED, "failed")
    if notice.kind is WebhookKind.PAYIN_EXPIRED:
        return _failure(session, notice, SessionState.EXPIRED, "expired")
    if notice.kind is WebhookKind.PAYIN_PENDING:
        return _pending(session, notice)
    return Transition(
        state=session.state, report=None, note=f"{notice.kind.value} does not change the payment"
    )
