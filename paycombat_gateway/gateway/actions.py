"""TRANSACTION_REFUND_REQUESTED and TRANSACTION_CANCELATION_REQUESTED.

PayCombat documents no refund API, so a refund request is answered honestly with how to refund in
PayCombat's dashboard. Cancelling works for a checkout nobody paid: PayCombat's Cancel Checkout; a
paid one is refused. Both may arrive for checkouts that never became orders (Saleor's fund release).
Cancelling is a coroutine: PayCombat is awaited, the database is read and written in a worker thread.
"""

from __future__ import annotations

import logging

from paycombat_gateway.gateway.blocking import in_thread
from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.gateway.paycombat_errors import public_error
from paycombat_gateway.gateway.process import find_session
from paycombat_gateway.gateway.results import ActionResult
from paycombat_gateway.gateway.settlement import ACTIONS_WHEN_PAID, SessionState
from paycombat_gateway.paycombat import errors
from paycombat_gateway.saleor.payloads import TransactionCancelationRequested, TransactionRefundRequested
from paycombat_gateway.storage.models import PaymentSession

__all__ = ["cancel_requested", "refund_requested"]

logger = logging.getLogger(__name__)


def refund_requested(
    ctx: GatewayContext, installation_id: int, payload: TransactionRefundRequested
) -> ActionResult:
    found = find_session(ctx, installation_id, payload.transaction.id, payload.transaction.psp_reference)
    what = (
        f"payin {found.payin_id} of checkout {found.checkout_id}"
        if found and found.payin_id
        else "this payment"
    )
    return ActionResult(
        result="REFUND_FAILURE",
        psp_reference=found.checkout_id if found else payload.transaction.psp_reference or None,
        amount=payload.action.amount,
        message=(
            f"REFUND_NOT_SUPPORTED: PayCombat has no refund API. Refund {payload.action.amount} "
            f"{payload.action.currency} of {what} in the PayCombat dashboard (Transaction > Payin > Refund "
            "Request), then record the refund on this order in Saleor."
        ),
        actions=ACTIONS_WHEN_PAID,
    )


def _mark_cancelled(ctx: GatewayContext, session_id: int) -> None:
    with ctx.database.session() as session:
        row = session.get(PaymentSession, session_id, with_for_update=True)
        if row is not None and row.state != SessionState.SUCCEEDED.value:
            row.state = SessionState.CANCELLED.value


async def cancel_requested(
    ctx: GatewayContext, installation_id: int, payload: TransactionCancelationRequested
) -> ActionResult:
    amount = payload.action.amount
    transaction = payload.transaction
    found = await in_thread(find_session, ctx, installation_id, transaction.id, transaction.psp_reference)
    if found is None:
        return ActionResult(
            "CANCEL_FAILURE", None, amount, "PAYMENT_NOT_FOUND: this app did not start this payment."
        )
    reference = found.checkout_id or found.merchant_reference
    if found.state is SessionState.SUCCEEDED:
        return ActionResult(
            "CANCEL_FAILURE",
            reference,
            amount,
            "ALREADY_PAID: the shopper has paid this PayCombat checkout, so it cannot be cancelled. "
            "Refund it in the PayCombat dashboard (Transaction > Payin > Refund Request).",
            actions=ACTIONS_WHEN_PAID,
        )
    if found.state is SessionState.CANCELLED or found.checkout_token is None:
        return ActionResult(
            "CANCEL_SUCCESS",
            reference,
            amount,
            "Nothing can be charged on this PayCombat checkout.",
            actions=(),
        )
    config = await ctx.configs.by_id_async(found.config_id)
    if config is None:
        return ActionResult(
            "CANCEL_FAILURE", reference, amount, "The PayCombat configuration of this payment was deleted."
        )
    # A failed or expired payin does not prove the hosted page is closed (a shopper may try another
    # method there), so PayCombat is asked to cancel in every unpaid state; when it answers that the
    # checkout is already over, nothing can be charged on it any more.
    closed_before = found.state in {SessionState.FAILED, SessionState.EXPIRED}
    try:
        await ctx.paycombat.async_for_config(config).cancel_checkout(found.checkout_token)
    except errors.InvalidRequestError as exc:
        if not closed_before:
            logger.warning("cancel checkout refused: %s", exc)
            return ActionResult(
                "CANCEL_FAILURE", reference, amount, public_error(exc, "cancelling the checkout").message
            )
        return ActionResult(
            "CANCEL_SUCCESS",
            reference,
            amount,
            f"PayCombat reports this checkout already {found.state.value}; nothing can be charged on it.",
            actions=(),
        )
    except errors.PaycombatError as exc:
        logger.warning("cancel checkout failed: %s", exc)
        return ActionResult(
            "CANCEL_FAILURE", reference, amount, public_error(exc, "cancelling the checkout").message
        )
    await in_thread(_mark_cancelled, ctx, found.id)
    return ActionResult(
        "CANCEL_SUCCESS", reference, amount, "The PayCombat checkout was cancelled.", actions=()
    )
