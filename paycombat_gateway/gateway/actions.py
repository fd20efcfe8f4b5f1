"""TRANSACTION_CANCELATION_REQUESTED (refunds live in ``gateway.refunds``).

Cancelling works for a checkout nobody paid: PayCombat's Cancel Checkout; a paid one is refused and
offers Refund instead. It may arrive for checkouts that never became orders.
"""

from __future__ import annotations

import logging

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


def cancel_requested(
    ctx: GatewayContext, installation_id: int, payload: TransactionCancelationRequested
) -> ActionResult:
    amount = payload.action.amount
    found = find_session(ctx, installation_id, payload.transaction.id, payload.transaction.psp_reference)
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
    config = ctx.configs.by_id(found.config_id)
    if config is None:
        return ActionResult(
            "CANCEL_FAILURE", reference, amount, "The PayCombat configuration of this payment was deleted."
        )
    # A failed or expired payin does not prove the hosted page is closed (a shopper may try another
    # method there), so PayCombat is asked to cancel in every unpaid state; when it answers that the
    # checkout is already over, nothing can be charged on it any more.
    closed_before = found.state in {SessionState.FAILED, SessionState.EXPIRED}
    try:
        ctx.paycombat.for_config(config).cancel_checkout(found.checkout_token)
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
    with ctx.database.session() as session:
        row = session.get(PaymentSession, found.id, with_for_update=True)
        if row is not None and row.state != SessionState.SUCCEEDED.value:
            row.state = SessionState.CANCELLED.value
            owe_details(session, row, ctx.settings.app_url)  # the order page loses its Cancel button
    return ActionResult(
        "CANCEL_SUCCESS", reference, amount, "The PayCombat checkout was cancelled.", actions=()
    )
