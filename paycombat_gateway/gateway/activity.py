"""Recent payments as a merchant reads them on the settings page.

Each payment is matched to what the merchant knows in the Dashboard: the order number (asked of Saleor
with the app token, since a checkout's transaction only joins its order when the checkout completes) or,
before that, the checkout. Amounts are written with the currency's own number of decimals, states and
payin methods in words.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.gateway.settlement import SessionState
from paycombat_gateway.money import MoneyError, quantize
from paycombat_gateway.outbound import SALEOR_DASHBOARD
from paycombat_gateway.paycombat.contract import PAYIN_METHOD_NAMES
from paycombat_gateway.saleor.client import SaleorError, TransactionOrder
from paycombat_gateway.storage.models import Installation, PaymentSession
from paycombat_gateway.storage.sessions import FINAL_STATES

__all__ = ["HELD", "STATE_WORDS", "OrderLookup", "format_amount", "payin_method_name", "payment_state"]

logger = logging.getLogger(__name__)

HELD = "held"  # not a SessionState: the payment keeps its own, and is shown held on top of it
STATE_WORDS: dict[str, str] = {
    SessionState.INITIALIZING: "Starting",
    SessionState.ACTION_REQUIRED: "Waiting for the shopper",
    SessionState.PENDING: "Payment pending",
    SessionState.SUCCEEDED: "Paid",
    SessionState.FAILED: "Failed",
    SessionState.EXPIRED: "Expired",
    SessionState.CANCELLED: "Cancelled",
    HELD: "Held for review",
}

# Payments that can have become an order: a failed or abandoned checkout never does. A cancelled one
# may be an order's (staff voided it on the order page), and a held one may have been completed.
_MAY_HAVE_ORDER = {SessionState.PENDING, SessionState.SUCCEEDED, SessionState.CANCELLED, HELD}


def payment_state(row: PaymentSession) -> str:
    """The state a merchant reads: ``held`` while a success that proved no payment waits for a person
    (``PaymentSession.held_reason``), else the stored state."""
    if row.held_reason and row.state not in FINAL_STATES:
        return HELD
    return row.state


def format_amount(amount: Decimal, currency: str) -> str:
    """``1.99 USD``, ``15,000 KRW``: the currency's own decimals, thousands grouped."""
    try:
        return f"{quantize(amount, currency, exact=False):,} {currency.upper()}"
    except MoneyError:
        return f"{amount} {currency}"


def payin_method_name(code: str | None) -> str | None:
    """The method's name for a code; a KRW payin already carries its bank's name, kept as it is."""
    return PAYIN_METHOD_NAMES.get(code, code) if code else None


@dataclass(frozen=True, slots=True)
class _Key:
    saleor_api_url: str
    transaction_id: str


class OrderLookup:
    """The order behind each Saleor transaction, asked of Saleor a few at a time.

    An order's number never changes, so a found order is remembered for the life of the process; a
    transaction without an order yet is asked again next time. A Saleor that does not answer leaves
    the rows with their checkout: the list still shows, it only lacks the order numbers."""

    def __init__(self, limit: int = 5000, budget: float = 5.0) -> None:
        self._found: dict[_Key, TransactionOrder] = {}
        self._limit = limit
        self._budget = budget

    async def orders(
        self, ctx: GatewayContext, installation: Installation, payments: Sequence[PaymentSession]
    ) -> dict[str, TransactionOrder]:
        """Asked on the event loop, four at a time, each by ``outbound.SALEOR_DASHBOARD``."""
        wanted = [p.saleor_transaction_id for p in payments if payment_state(p) in _MAY_HAVE_ORDER]
        known = {
            tid: found
            for tid in wanted
            if (found := self._found.get(_Key(installation.saleor_api_url, tid))) is not None
        }
        missing = [tid for tid in dict.fromkeys(wanted) if tid not in known]
        if not missing:
            return known
        client = ctx.saleor_client(installation, SALEOR_DASHBOARD)
        at_once = asyncio.Semaphore(4)

        async def ask(transaction_id: str) -> tuple[str, TransactionOrder | None]:
            async with at_once:
                try:
                    return transaction_id, await client.transaction_order_async(transaction_id)
                except SaleorError as exc:
                    logger.info("settings page: no order for %s: %s", transaction_id, exc)
                    return transaction_id, None

        # A slow Saleor costs the page at most `budget` seconds: rows still unanswered keep their checkout.
        tasks = [asyncio.ensure_future(ask(transaction_id)) for transaction_id in missing]
        done, pending = await asyncio.wait(tasks, timeout=self._budget)
        for task in pending:
            task.cancel()
        for transaction_id, answer in (task.result() for task in done):
            if answer is None or answer.order_id is None:
                continue
            known[transaction_id] = answer
            if len(self._found) < self._limit:
                self._found[_Key(installation.saleor_api_url, transaction_id)] = answer
        return known
