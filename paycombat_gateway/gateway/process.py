"""TRANSACTION_PROCESS_SESSION: the shopper is back; answer from what PayCombat has told us.

The redirect itself proves nothing. A payin PayCombat reported as paid gives ``CHARGE_SUCCESS`` with
PayCombat's amount (the webhook's report of the same event is deduplicated by Saleor); a failed,
expired or cancelled checkout gives ``CHARGE_FAILURE``; a payin PayCombat reported as pending gives
``CHARGE_REQUEST``. While PayCombat has told us of no payin at all, the answer stays
``CHARGE_ACTION_REQUIRED`` with the hosted page: Saleor counts a ``CHARGE_REQUEST`` as covering the
checkout, so answering it for a shopper who never paid would let ``checkoutComplete`` make an unpaid
order, and Saleor would not ask this app again. The payin's webhook settles it either way.
"""

from __future__ import annotations

from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.gateway.errors import ErrorCode, PaymentError
from paycombat_gateway.gateway.initialize import action_required, failure
from paycombat_gateway.gateway.results import SessionResult
from paycombat_gateway.gateway.settlement import ACTIONS_WHEN_PAID, ACTIONS_WHEN_PENDING, SessionState
from paycombat_gateway.gateway.snapshots import SessionSnapshot, snapshot
from paycombat_gateway.saleor.payloads import TransactionProcessSession
from paycombat_gateway.storage.sessions import find_by_checkout_id, find_by_transaction

__all__ = ["find_session", "process_session"]


def find_session(
    ctx: GatewayContext, installation_id: int, transaction_id: str, psp_reference: str | None
) -> SessionSnapshot | None:
    with ctx.database.session(readonly=True) as session:
        row = find_by_transaction(session, installation_id, transaction_id)
        if row is None and psp_reference:
            row = find_by_checkout_id(session, psp_reference)
            if row is not None and row.installation_id != installation_id:
                row = None
        return snapshot(row) if row is not None else None


def process_session(
    ctx: GatewayContext, installation_id: int, payload: TransactionProcessSession
) -> SessionResult:
    found = find_session(ctx, installation_id, payload.transaction.id, payload.transaction.psp_reference)
    if found is None:
        return failure(PaymentError(ErrorCode.PAYMENT_NOT_FOUND, "This app did not start this payment."))
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
            psp_reference=reference,
            amount=found.amount,
            message=f"The PayCombat checkout {found.state.value}.",
            data={"status": found.state.value, "checkout_id": found.checkout_id},
        )
    if found.checkout_id is None:  # the hosted checkout was never created
        return failure(
            PaymentError(
                ErrorCode.PAYCOMBAT_UNAVAILABLE, found.last_error or "The hosted checkout was never created."
            ),
            found.amount,
        )
    if found.state is not SessionState.PENDING:  # no payin yet: the shopper has not paid
        config = ctx.configs.by_id(found.config_id)
        return action_required(found, config.environment if config is not None else "unknown")
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
