"""TRANSACTION_CANCELATION_REQUESTED (refunds live in ``gateway.refunds``).

Cancelling works for a checkout nobody paid: PayCombat's Cancel Checkout; a paid one is refused and
offers Refund instead. It may arrive for checkouts that never became orders.
Cancelling is a coroutine: PayCombat is awaited, the database is read and written in a worker thread.
"""

from __future__ import annotations

import logging

from paycombat_gateway.gateway.blocking import in_thread
from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.gateway.paycombat_errors import public_error
from paycombat_gateway.gateway.process import find_session
from paycombat_gateway.gateway.reporting import owe_details
from paycombat_gateway.gateway.results import ActionResult
from paycombat_gateway.gateway.settlement import ACTIONS_WHEN_PAID, SessionState
from paycombat_gateway.paycombat import errors
from paycombat_gateway.saleor.payloads import TransactionCancelationRequested
from paycombat_gateway.storage.models import PaymentSession

__all__ = ["cancel_requested"]

logger = logging.getLogger(__name__)


def _mark_cancelled(ctx: GatewayContext, session_id: int) -> None:
    with ctx.database.session() as session:
        row = session.get(PaymentSession, session_id, with_for_update=True)
        if row is not None and row.state != SessionState.SUCCEEDED.value:
            row.state = SessionState.CANCELLED.value
            row.held_reason = row.held_at = None  # a final state ends a hold for review
            owe_details(session, row, ctx.settings.app_url)  # the order page loses its Cancel button


async def cancel_requested(
    ctx: GatewayContext, installation_id: int, payload: TransactionCancelationRequested
) -> ActionResult:
    amount = payload.action.amount
    transaction = payload.transaction
    found = await in_thread(find_session, ctx, installation_id, transaction.id, transaction.psp_reference)
    if found is None:
        return ActionResult(
            "CANCEL_FAILURE", None, amount, "PAYMENT_NOT_FOUND: This app did not start this payment."
        )
    reference = found.checkout_id or found.merchant_reference
    if found.state is SessionState.SUCCEEDED:
        return ActionResult(
            "CANCEL_FAILURE",
            reference,
            amount,
            "ALREADY_PAID: The shopper has paid this PayCombat checkout, so it cannot be cancelled. "
            "Refund it instead.",
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
            f"PayCombat reports this checkout already {found.state.value}, so nothing can be charged on it.",
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
