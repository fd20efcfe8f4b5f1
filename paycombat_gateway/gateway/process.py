"""TRANSACTION_PROCESS_SESSION: the shopper is back; answer from what PayCombat has told us or shows.

The redirect itself proves nothing. A payin PayCombat reported as paid gives ``CHARGE_SUCCESS`` with
PayCombat's amount (the webhook's report of the same event is deduplicated by Saleor); a failed,
expired or cancelled checkout gives ``CHARGE_FAILURE``; a payin PayCombat reported as pending gives
``CHARGE_REQUEST``. While no webhook has told us anything, PayCombat is asked once
(``reconcile.ask_before_answering``, recorded the webhook's way); if it shows no payin either, the
answer stays ``CHARGE_ACTION_REQUIRED`` with the hosted page: Saleor counts a ``CHARGE_REQUEST`` as
covering the checkout, so answering it for a shopper who never paid would let ``checkoutComplete``
make an unpaid order, and Saleor would not ask this app again. The payin's webhook (or the
reconciler) settles it either way.
"""

from __future__ import annotations

from paycombat_gateway.gateway.answers import answer_from_state, failure
from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.gateway.errors import ErrorCode, PaymentError
from paycombat_gateway.gateway.reconcile import ask_before_answering
from paycombat_gateway.gateway.results import SessionResult
from paycombat_gateway.gateway.settlement import SessionState
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
    if found.state is SessionState.ACTION_REQUIRED:  # no webhook has told us anything: ask once
        found = ask_before_answering(ctx, found)
    config = ctx.configs.by_id(found.config_id)
    return answer_from_state(found, config.environment if config is not None else "unknown")
