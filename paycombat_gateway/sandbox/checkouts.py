"""The life of a hosted checkout: created, method bound, KRW virtual account, then paid, failed, expired
or cancelled, exactly once.

Settling makes the payin record and queues its signed PAYIN webhook; opening a virtual account queues
the VA Register Callback. The checkout object PayCombat documents has no state, so the state lives in the
sandbox's own ``_status`` field (contract inference ``checkout_states``).
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from typing import Any

from paycombat_gateway.paycombat.contract import KRW_BANKS, WebhookKind
from paycombat_gateway.sandbox.accounts import AccountBook, SandboxAccount
from paycombat_gateway.sandbox.dispatcher import WebhookDispatcher
from paycombat_gateway.sandbox.errors import SandboxError
from paycombat_gateway.sandbox.models import (
    CheckoutState,
    Clock,
    iso,
    new_checkout,
    new_payin,
    new_virtual_account,
    paginate,
    public,
    va_register_callback,
)
from paycombat_gateway.sandbox.store import SandboxStore
from paycombat_gateway.sandbox.validation import allowed_methods, field_error, money_amount, payment_request

__all__ = ["OUTCOMES", "CheckoutService"]

logger = logging.getLogger(__name__)
Record = dict[str, Any]

# outcome -> (payin status, checkout state)
OUTCOMES: dict[str, tuple[str, CheckoutState]] = {
    "success": ("SUCCESS", CheckoutState.COMPLETED),
    "failed": ("FAILED", CheckoutState.FAILED),
    "expired": ("EXPIRED", CheckoutState.EXPIRED),
}
# checkout state -> key of advanced_redirect_url the shopper returns to
RETURN_KEYS = {
    CheckoutState.COMPLETED: "completed_url",
    CheckoutState.FAILED: "failed_url",
    CheckoutState.EXPIRED: "expired_url",
    CheckoutState.CANCELLED: "cancelled_url",
}
CHECKOUT_TRX_TYPE = "CHECKOUT_PAYIN"  # contract inference ``checkout_payin_shape``


def _past(moment: str, now: datetime) -> bool:
    return datetime.fromisoformat(moment) <= now


class CheckoutService:
    """Checkout operations shared by the API, the hosted page and the sandbox-only settle endpoint."""

    def __init__(
        self, store: SandboxStore, dispatcher: WebhookDispatcher, accounts: AccountBook, clock: Clock
    ) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.accounts = accounts
        self.clock = clock

    # --- finding ----------------------------------------------------------------------------

    def create(self, account: SandboxAccount, body: dict[str, Any], base_url: str) -> Record:
        now = self.clock()
        spec = payment_request(body, now)
        return self.store.put("checkout", new_checkout(spec, account, base_url, now))

    def get(self, checkout_id: str, account: SandboxAccount | None = None) -> Record:
        """The checkout, expired first if its time has passed; 404 if unknown or another account's."""
        checkout = self.store.get("checkout", checkout_id)
        if checkout is None or (account is not None and checkout["_account"] != account.merchant_id):
            raise SandboxError(404, "Checkout not found")
        return self._expire_if_due(checkout)

    def by_token(self, token: str, account: SandboxAccount | None = None) -> Record:
        checkout = self.store.find("checkout", checkout_token=token) if token else None
        if checkout is None or (account is not None and checkout["_account"] != account.merchant_id):
            raise SandboxError(404, "Checkout not found")
        return self._expire_if_due(checkout)

    def page(self, account: SandboxAccount, page: int, per_page: int) -> Record:
        """One page of the account's checkouts, newest first, in Laravel's paginator shape."""
        mine = self.store.filter("checkout", _account=account.merchant_id)
        mine.reverse()
        return paginate(mine, page, per_page)

    def virtual_account_of(self, checkout: Record) -> Record:
        virtual_account = (
            self.store.get("virtual_account", checkout["_virtual_account_id"])
            if checkout["_virtual_account_id"]
            else None
        )
        if virtual_account is None:
            raise SandboxError(404, "This checkout has no virtual account yet")
        return virtual_account

    # --- changing an open checkout ----------------------------------------------------------

    def bind_method(self, checkout: Record, method: str) -> Record:
        """Create New Checkout: bind (or switch) the payin method of an open checkout."""
        with self.store.locked():
            checkout = self._fresh_open(checkout, "its payin method cannot change")
            if method not in allowed_methods(checkout["currency"]):
                raise field_error("payin_method_name", f"must be a method offered for {checkout['currency']}")
            return self.store.put(
                "checkout", {**checkout, "payin_method_name": method, "updated_at": iso(self.clock())}
            )

    def open_virtual_account(self, checkout: Record, bank: str) -> Record:
        """Create Virtual Account [KRW]: a virtual account at ``bank``; the callback goes to webhook_url."""
        with self.store.locked():
            checkout = self._fresh_open(checkout, "no virtual account can be opened")
            if checkout["currency"] != "KRW":
                raise SandboxError(400, "Virtual accounts are only for KRW checkouts")
            if bank not in KRW_BANKS:
                raise field_error("payin_method_name", f"must be one of the banks: {', '.join(KRW_BANKS)}")
            current = checkout["_virtual_account_id"] and self.store.get(
                "virtual_account", checkout["_virtual_account_id"]
            )
            if current and current["bank_name"] == bank:
                return checkout  # the same request again: same account, no second callback
            now = self.clock()
            virtual_account = self.store.put(
                "virtual_account",
                new_virtual_account(
                    merchant_id=checkout["_account"],
                    bank=bank,
                    amount=checkout["amount"],
                    expire_at=checkout["expire_at"],
                    now=now,
                    _checkout_id=checkout["id"],
                ),
            )
            checkout = self.store.put(
                "checkout",
                {
                    **checkout,
                    "payin_method_name": bank,
                    "_virtual_account_id": virtual_account["id"],
                    "updated_at": iso(now),
                },
            )
        self._notify(
            checkout, va_register_callback(virtual_account, checkout["description"]), WebhookKind.VA_REGISTER
        )
        return checkout

    def cancel(self, checkout: Record) -> Record:
        """Cancel Checkout: an open checkout ends CANCELLED (no webhook); any other state is a 400."""
        with self.store.locked():
            checkout = self.get(checkout["id"])
            state = CheckoutState(checkout["_status"])
            if state is CheckoutState.COMPLETED:
                raise SandboxError(400, "Checkout is already paid and cannot be cancelled")
            if state is not CheckoutState.OPEN:
                already = (
                    "is already cancelled"
                    if state is CheckoutState.CANCELLED
                    else f"has already {state.value.lower()}"
                )
                raise SandboxError(400, f"Checkout {already} and cannot be cancelled")
            return self.store.put(
                "checkout",
                {**checkout, "_status": CheckoutState.CANCELLED.value, "updated_at": iso(self.clock())},
            )

    # --- settling ---------------------------------------------------------------------------

    def settle(
        self,
        checkout_id: str,
        outcome: str,
        *,
        payin_method_name: str | None = None,
        amount: Any = None,
    ) -> Record:
        """What PayCombat does when the shopper's payment succeeds, fails or runs out of time.

        Makes the payin (``amount`` overrides what was paid, to simulate a short or long payment) and
        queues its webhook. A checkout settles once: again is 409.
        """
        if outcome not in OUTCOMES:
            raise field_error("outcome", "must be success, failed or expired")
        payin_status, final_state = OUTCOMES[outcome]
        with self.store.locked():
            checkout = self.store.get("checkout", checkout_id)
            if checkout is None:
                raise SandboxError(404, "Checkout not found")
            if outcome != "expired":
                checkout = self._expire_if_due(checkout)
            if checkout["_status"] != CheckoutState.OPEN.value:
                raise SandboxError(
                    409, f"Checkout is already {checkout['_status'].lower()}; a checkout settles only once"
                )
            currency = checkout["currency"]
            try:
                paid = (
                    checkout["amount"] if amount is None else money_amount(amount, currency, allow_text=True)
                )
            except ValueError as exc:
                raise field_error("amount", str(exc)) from None
            virtual_account = (
                self.store.get("virtual_account", checkout["_virtual_account_id"])
                if checkout["_virtual_account_id"]
                else None
            )
            method = payin_method_name or checkout["payin_method_name"] or allowed_methods(currency)[0]
            if method not in allowed_methods(currency):
                raise field_error("payin_method_name", f"must be a method offered for {currency}")
            now = self.clock()
            payin = self.store.put(
                "payin",
                new_payin(
                    merchant_id=checkout["_account"],
                    status=payin_status,
                    amount=paid,
                    currency=currency,
                    payment_method=method,
                    reference=checkout["description"],
                    now=now,
                    trx_type=CHECKOUT_TRX_TYPE,
                    customer=checkout["additional_info"],
                    country=checkout["country_code"],
                    payer_id=virtual_account["id"] if virtual_account else None,
                ),
            )
            checkout = self.store.put(
                "checkout",
                {
                    **checkout,
                    "payin_method_name": method,
                    "updated_at": iso(now),
                    "_status": final_state.value,
                    "_payin_id": payin["id"],
                },
            )
        self._notify(checkout, public(payin), WebhookKind(f"PAYIN_{payin_status}"))
        return payin

    def expire_due(self) -> int:
        """Expire every open checkout whose ``expire_at`` has passed (PAYIN EXPIRED each); how many."""
        now = self.clock()
        due = [
            checkout["id"]
            for checkout in self.store.filter("checkout", _status=CheckoutState.OPEN.value)
            if _past(checkout["expire_at"], now)
        ]
        expired = 0
        for checkout_id in due:
            try:
                self.settle(checkout_id, "expired")
                expired += 1
            except SandboxError:  # settled meanwhile by the page or the API
                continue
        return expired

    def return_url(self, checkout: Record) -> str | None:
        """Where the shopper's browser goes after a final state: the outcome's URL, else redirect_url."""
        advanced = checkout.get("advanced_redirect_url") or {}
        key = RETURN_KEYS.get(CheckoutState(checkout["_status"]))
        specific = advanced.get(key) if key else None
        result: str | None = specific or checkout.get("redirect_url")
        return result

    # --- helpers ----------------------------------------------------------------------------

    def _fresh_open(self, checkout: Record, consequence: str) -> Record:
        checkout = self.get(checkout["id"])
        if checkout["_status"] != CheckoutState.OPEN.value:
            raise SandboxError(400, f"Checkout is already {checkout['_status'].lower()}; {consequence}")
        return checkout

    def _expire_if_due(self, checkout: Record) -> Record:
        if checkout["_status"] == CheckoutState.OPEN.value and _past(checkout["expire_at"], self.clock()):
            with contextlib.suppress(SandboxError):  # settled meanwhile by another request
                self.settle(checkout["id"], "expired")
            return self.store.get("checkout", checkout["id"]) or checkout
        return checkout

    def _notify(self, checkout: Record, body: Record, kind: WebhookKind) -> None:
        if not checkout["webhook_url"]:
            return
        account = self.accounts.by_merchant_id(checkout["_account"])
        if account is None:
            logger.warning("sandbox: no account for checkout %s any more; webhook not sent", checkout["id"])
            return
        self.dispatcher.send(
            checkout["webhook_url"],
            body,
            account.signature_key,
            kind.value,
            account=account.merchant_id,
            checkout_id=checkout["id"],
        )
