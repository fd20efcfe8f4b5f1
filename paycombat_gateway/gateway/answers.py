"""The answer a payment session's stored state gives Saleor, shared by initialize and process.

A retried ``transactionInitialize`` and a ``transactionProcess`` must say the same thing about the same
session: a paid session is never sent back to the hosted page, a failed one never looks open.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from paycombat_gateway.gateway.errors import ErrorCode, PaymentError
from paycombat_gateway.gateway.results import SessionResult
from paycombat_gateway.gateway.settlement import ACTIONS_WHEN_PAID, ACTIONS_WHEN_PENDING, SessionState
from paycombat_gateway.gateway.snapshots import SessionSnapshot

__all__ = ["CLOSED_MESSAGES", "action_required", "answer_from_state", "failure"]

# What the order page says about a checkout that can no longer be paid, as a sentence.
CLOSED_MESSAGES = {
    SessionState.FAILED: "The PayCombat payment failed.",
    SessionState.EXPIRED: "The PayCombat checkout expired before the shopper paid.",
    SessionState.CANCELLED: "The PayCombat checkout was cancelled.",
}


def failure(error: PaymentError, amount: Decimal | None = None) -> SessionResult:
    return SessionResult(result="CHARGE_FAILURE", amount=amount, message=error.message, data=error.as_data())


def action_required(
    session: SessionSnapshot, environment: str, warnings: list[str] | None = None
) -> SessionResult:
    data: dict[str, Any] = {
        "checkout_url": session.checkout_url,
        "checkout_token": session.checkout_token,
        "checkout_id": session.checkout_id,
        "expires_at": session.expires_at,
        "environment": environment,
        "payin_method": session.payin_method_name,
        "virtual_account": session.virtual_account,
    }
    if warnings:
        data["warnings"] = warnings
    return SessionResult(
        result="CHARGE_ACTION_REQUIRED",
        psp_reference=session.checkout_id,
        amount=session.amount,
        message="Redirect the shopper to PayCombat's hosted checkout.",
        actions=ACTIONS_WHEN_PENDING,
        data=data,
    )


def answer_from_state(found: SessionSnapshot, environment: str) -> SessionResult:
    """What is known of ``found``: paid, failed, a pending payin, or still waiting for the shopper."""
    reference = found.checkout_id or found.merchant_reference
    if found.state is SessionState.SUCCEEDED:
        return SessionResult(
            result="CHARGE_SUCCESS",
            psp_reference=reference,
            amount=found.paid_amount if found.paid_amount is not None else found.amount,
            message="Paid through PayCombat.",
            actions=ACTIONS_WHEN_PAID,
            data={"status": "paid", "checkout_id": found.checkout_id},
        )
    if found.state in {SessionState.FAILED, SessionState.EXPIRED, SessionState.CANCELLED}:
        return SessionResult(
            result="CHARGE_FAILURE",
            # When the failure happened, not now: Saleor lets the newer of a success and a failure on
            # one pspReference win, and a success webhook may land between our read and this answer.
            time=found.updated_at,
            psp_reference=reference,
            amount=found.amount,
            message=CLOSED_MESSAGES[found.state],
            data={"status": found.state.value, "checkout_id": found.checkout_id},
        )
    if found.held_reason and found.checkout_id is not None:
        # PayCombat said "paid" without proving it: neither paid nor open (sending the shopper back to
        # the hosted page could take the money twice). Pending until the merchant has looked.
        return SessionResult(
            result="CHARGE_REQUEST",
            psp_reference=found.checkout_id,
            amount=found.amount,
            message="PayCombat's word on this payment is held for the merchant's review.",
            actions=ACTIONS_WHEN_PENDING,
            data={"status": "held", "checkout_id": found.checkout_id},
        )
    if found.checkout_id is None:  # the hosted checkout was never created
        return failure(
            PaymentError(
                ErrorCode.PAYCOMBAT_UNAVAILABLE, found.last_error or "The hosted checkout was never created."
            ),
            found.amount,
        )
    if found.state is not SessionState.PENDING:  # no payin yet: the shopper has not paid
        return action_required(found, environment)
    return SessionResult(
        result="CHARGE_REQUEST",
        psp_reference=found.checkout_id,
        amount=found.amount,
        message="Waiting for PayCombat to confirm the payment.",
        actions=ACTIONS_WHEN_PENDING,
        data={
            "status": "pending",
            "checkout_id": found.checkout_id,
            "checkout_url": found.checkout_url,
            "virtual_account": found.virtual_account,
        },
    )
