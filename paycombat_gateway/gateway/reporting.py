"""What this app owes Saleor about a payment: the one writer of the outbox.

Every source of money news (a PayCombat webhook, a poll, the merchant's confirm or decline of a
refund) decides its ``EventReport`` in its own module and hands it to ``owe_saleor`` here, inside
the same database transaction that changed the payment. Nothing else enqueues reports, so every
path is deduplicated and retried the same way.

Besides events, Saleor is told what to call the transaction and where the merchant can see it
(``TransactionItem.name`` and ``externalUrl``, which only ``transactionUpdate`` sets) and which
buttons it offers. That is owed the same way, once per (state, name), as a ``TRANSACTION_DETAILS`` row
whose buttons the worker reads at delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.gateway.results import MAX_EXTERNAL_URL, external_url
from paycombat_gateway.gateway.settlement import EventReport
from paycombat_gateway.storage.models import PaymentSession
from paycombat_gateway.storage.outbox import TRANSACTION_DETAILS, enqueue_report, enqueue_report_statement

__all__ = [
    "TRANSACTION_DETAILS",
    "announce_checkout",
    "owe_details",
    "owe_saleor",
    "payment_page_url",
    "transaction_name",
]


# How the order page names a method; anything else is shown as PayCombat names it.
_METHOD_NAMES = {
    "card": "card",
    "au_bank_npp": "bank transfer (PayID/NPP)",
    "eu_bank_sct_eur": "bank transfer (SEPA)",
    "krw_virtual_account": "KRW virtual account",
}


def transaction_name(method: str | None, virtual_account: dict[str, Any] | None) -> str:
    """ "PayCombat", then the method once known: "PayCombat · card", "PayCombat · KB국민은행 virtual account"."""
    bank = (virtual_account or {}).get("bank_name")
    if bank:
        return f"PayCombat · {bank} virtual account"
    if not method:
        return "PayCombat"
    return f"PayCombat · {_METHOD_NAMES.get(method, method)}"


def payment_page_url(app_url: str, payment_reference: str) -> str | None:
    """The app's Dashboard page with this payment selected (PayCombat's own dashboard has no
    known per-payin address: ``contract`` inference ``dashboard_payment_url``); None when Saleor
    would refuse the address (no real domain, too long), so a report is never refused for a link."""
    page = _payment_page(app_url)
    if page is None:
        return None
    url = page + urlencode({"payment": payment_reference})
    return url if len(url) <= MAX_EXTERNAL_URL else None


@lru_cache(maxsize=16)
def _payment_page(app_url: str) -> str | None:
    """The page's address up to its query, when Saleor accepts its scheme and domain (checked once per
    app URL; the reference only adds a query, so only the length is left to check per payment)."""
    page = f"{app_url.rstrip('/')}/dashboard?"
    return page if external_url(page) else None


def _details(
    *, payment_session_id: int, installation_id: int, currency: str, state: str, reference: str,
    method: str | None, virtual_account: dict[str, Any] | None, app_url: str, occasion: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The outbox row owing Saleor a transaction's name, link and buttons, once per (state, name),
    or once per ``occasion`` (a refund owed changes the buttons without changing the state).

    The buttons are read when the row is delivered. Owing a row on every change of state means one
    is always delivered after the change, so a delivery that read the state just before it (a Cancel
    in flight while the checkout is cancelled) never has the last word."""
    name = transaction_name(method, virtual_account)
    key = f"{state}:{name}" if occasion is None else f"{state}:{name}:{occasion}"
    return {
        "installation_id": installation_id,
        "payment_session_id": payment_session_id,
        "event_type": TRANSACTION_DETAILS,
        "psp_reference": key,
        "amount": None,
        "currency": currency,
        "message": name,
        "external_url": payment_page_url(app_url, reference),
    }


def owe_details(session: Session, row: PaymentSession, app_url: str, *, occasion: str | None = None) -> None:
    """Owe Saleor the transaction's name, link and buttons as ``row`` now stands (again for each new
    ``occasion``, such as a refund answered pending, whose answer cannot carry buttons)."""
    enqueue_report(
        session,
        **_details(
            payment_session_id=row.id, installation_id=row.installation_id, currency=row.currency,
            state=row.state, reference=row.checkout_id or row.merchant_reference,
            method=row.payin_method_name, virtual_account=row.virtual_account, app_url=app_url,
            occasion=occasion,
        ),
    )  # fmt: skip


def owe_saleor(
    session: Session,
    row: PaymentSession,
    report: EventReport,
    app_url: str,
    *,
    delivery_id: int | None = None,
) -> bool:
    """Owe Saleor ``report`` about ``row`` (and its name, if that changed); True when the event is new."""
    _, created = enqueue_report(
        session,
        installation_id=row.installation_id,
        payment_session_id=row.id,
        delivery_id=delivery_id,
        event_type=report.event_type,
        psp_reference=report.psp_reference,
        amount=report.amount,
        currency=row.currency,
        message=report.message,
        available_actions=list(report.available_actions) if report.available_actions is not None else None,
        external_url=payment_page_url(app_url, row.checkout_id or row.merchant_reference),
    )
    owe_details(session, row, app_url)
    return created


def announce_checkout(
    ctx: GatewayContext,
    installation_id: int,
    *,
    payment_session_id: int,
    currency: str,
    reference: str,
    method: str | None,
    virtual_account: dict[str, Any] | None,
) -> Callable[[tuple[Any, ...] | None], tuple[Insert, dict[str, Any]] | None]:
    """A hosted checkout exists: name the transaction and offer Cancel while it can be paid.

    The ``CHARGE_ACTION_REQUIRED`` answer cannot do it: Saleor ignores a session answer's ``actions``
    for that result, and no session answer carries a name. Returned as the second statement of the
    checkout's own write (``sessions.record_checkout(then=…)``): it is built from the state that write
    returns and committed in the same transaction, so a recorded checkout is always announced, with
    no write of its own."""

    def announcement(recorded: tuple[Any, ...] | None) -> tuple[Insert, dict[str, Any]] | None:
        if recorded is None:  # the payment vanished: there is nothing to name
            return None
        return enqueue_report_statement(
            ctx.database.engine.dialect.name,
            **_details(
                payment_session_id=payment_session_id, installation_id=installation_id, currency=currency,
                state=str(recorded[0]), reference=reference, method=method, virtual_account=virtual_account,
                app_url=ctx.settings.app_url,
            ),
        )  # fmt: skip

    return announcement
