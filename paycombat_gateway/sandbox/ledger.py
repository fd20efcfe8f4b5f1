"""Everything outside the hosted checkout: direct payins, S2S KRW virtual accounts, customers, payouts
and the payout balance. Enough behaviour for a client to be exercised end to end; no money moves.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from paycombat_gateway.paycombat.contract import KRW_BANKS, WebhookKind
from paycombat_gateway.sandbox.accounts import SandboxAccount
from paycombat_gateway.sandbox.dispatcher import WebhookDispatcher
from paycombat_gateway.sandbox.errors import SandboxError
from paycombat_gateway.sandbox.models import (
    Clock,
    iso,
    new_customer,
    new_payin,
    new_payout,
    new_virtual_account,
    paginate,
    va_register_callback,
)
from paycombat_gateway.sandbox.store import SandboxStore
from paycombat_gateway.sandbox.validation import (
    DEFAULT_EXPIRY,
    FieldErrors,
    allowed_methods,
    field_error,
    money_amount,
)

__all__ = ["Ledger"]

Record = dict[str, Any]
DIRECT_TRX_TYPE = "DIRECT_PAYIN"  # documented value on direct payins
# Where each kind of transaction carries the merchant's reference (contract inference ``transaction_lookup``)
_REFERENCE_FIELDS = {"payin": ("transaction", "order_reference"), "payout": ("order_id",)}


def _currency(errors: FieldErrors, body: Record, key: str = "currency") -> str | None:
    value = body.get(key)
    if not isinstance(value, str) or len(value.strip()) != 3 or not value.strip().isalpha():
        errors.add(key, "must be a 3-letter ISO 4217 currency code")
        return None
    return value.strip().upper()


def _required_text(errors: FieldErrors, body: Record, *keys: str) -> None:
    for key in keys:
        value = body.get(key)
        if not isinstance(value, str) or not value.strip():
            errors.add(key, "is required")


class Ledger:
    """Payins, virtual accounts, customers and payouts that are not part of a hosted checkout."""

    def __init__(self, store: SandboxStore, dispatcher: WebhookDispatcher, clock: Clock) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.clock = clock

    @staticmethod
    def _owned(record: Record | None, account: SandboxAccount, what: str) -> Record:
        if record is None or record.get("_account") != account.merchant_id:
            raise SandboxError(404, f"{what} not found")
        return record

    # --- payins -----------------------------------------------------------------------------

    def retrieve_payin(self, account: SandboxAccount, payin_id: str) -> Record:
        """By the payin's UUID or its ``payin_…`` Finmo id (both appear in the docs' examples)."""
        payin = self.store.get("payin", payin_id) or self.store.find("payin", payin_id_finmo=payin_id)
        return self._owned(payin, account, "Payin")

    # --- transactions (contract inference ``transaction_lookup``) ------------------------------

    def transactions(
        self,
        account: SandboxAccount,
        *,
        reference: str | None,
        record_type: str | None,
        page: int,
        per_page: int,
    ) -> Record:
        """Get All Transaction: the account's payins and payouts, newest first, optionally only those
        whose merchant reference equals ``reference`` and of one ``record_type`` (PAYIN / PAYOUT)."""
        if record_type not in (None, "PAYIN", "PAYOUT"):
            raise field_error("type", "must be PAYIN or PAYOUT")
        found: dict[str, Record] = {}
        for kind, keys in _REFERENCE_FIELDS.items():
            if record_type not in (None, kind.upper()):
                continue
            candidates = (
                self.store.filter(kind)
                if reference is None
                else [record for key in keys for record in self.store.lookup(kind, key, reference)]
            )
            found.update((r["id"], r) for r in candidates if r["_account"] == account.merchant_id)
        listed = sorted(found.values(), key=lambda record: str(record["created_at"]), reverse=True)
        return paginate(listed, page, per_page)

    def transaction(self, account: SandboxAccount, transaction_id: str) -> Record:
        """Find Transaction by Id: the payin (by UUID or ``payin_…`` id) or payout of that id."""
        record = (
            self.store.get("payin", transaction_id)
            or self.store.find("payin", payin_id_finmo=transaction_id)
            or self.store.get("payout", transaction_id)
        )
        return self._owned(record, account, "Transaction")

    def create_payin(self, account: SandboxAccount, body: Record) -> Record:
        """Create Payin: a PENDING payin (KRW: ``payer_id`` must name a virtual account of this account)."""
        errors = FieldErrors()
        currency = _currency(errors, body)
        _required_text(errors, body, "payin_method_name")
        amount = None
        if currency:
            amount = errors.check("amount", money_amount, body.get("amount"), currency)
            method = body.get("payin_method_name")
            if isinstance(method, str) and method and method not in allowed_methods(currency):
                errors.add("payin_method_name", f"is not offered for {currency}")
        payer_id = body.get("payer_id")
        if currency == "KRW":
            found = self.store.get("virtual_account", payer_id) if isinstance(payer_id, str) else None
            if found is None or found["_account"] != account.merchant_id:
                errors.add("payer_id", "must be the id of a virtual account from Create Virtual Account")
        errors.raise_if_any()
        if amount is None or currency is None:
            raise SandboxError(422, "The request could not be validated")
        reference = body.get("description") or body.get("order_reference")
        return self.store.put(
            "payin",
            new_payin(
                merchant_id=account.merchant_id,
                status="PENDING",
                amount=amount,
                currency=currency,
                payment_method=str(body["payin_method_name"]),
                reference=str(reference) if reference is not None else None,
                now=self.clock(),
                trx_type=DIRECT_TRX_TYPE,
                country=str(body.get("country") or body.get("country_code") or ""),
                payer_id=str(payer_id) if payer_id else None,
            ),
        )

    def create_virtual_account(self, account: SandboxAccount, body: Record) -> Record:
        """Create Virtual Account (S2S KRW): registered at once (APPROVED), callback to ``callback_url``."""
        errors = FieldErrors()
        currency = _currency(errors, body)
        if currency and currency != "KRW":
            errors.add("currency", "must be KRW")
        bank = body.get("payin_method_name")
        if bank not in KRW_BANKS:
            errors.add("payin_method_name", f"must be one of: {', '.join(KRW_BANKS)}")
        amount = errors.check("amount", money_amount, body.get("amount"), "KRW")
        callback_url = body.get("callback_url") or body.get("webhook_url")
        if callback_url is not None and not (
            isinstance(callback_url, str) and callback_url.startswith(("http://", "https://"))
        ):
            errors.add("callback_url", "must be an absolute http(s) URL")
        errors.raise_if_any()
        if amount is None:
            raise SandboxError(422, "The request could not be validated")
        now = self.clock()
        virtual_account = self.store.put(
            "virtual_account",
            new_virtual_account(
                merchant_id=account.merchant_id,
                bank=str(bank),
                amount=amount,
                expire_at=iso(now + DEFAULT_EXPIRY),
                now=now,
                customer_name=body.get("customer_name"),
            ),
        )
        if callback_url:
            reference = body.get("order_reference") or body.get("description")
            self.dispatcher.send(
                str(callback_url),
                va_register_callback(virtual_account, str(reference) if reference else None),
                account.signature_key,
                WebhookKind.VA_REGISTER.value,
                account=account.merchant_id,
            )
        return virtual_account

    # --- customers --------------------------------------------------------------------------

    def create_customer(self, account: SandboxAccount, body: Record) -> Record:
        self._check_customer(body, creating=True)
        return self.store.put("customer", new_customer(account.merchant_id, body, self.clock()))

    def update_customer(self, account: SandboxAccount, body: Record) -> Record:
        """Update Customer: the given fields replace the stored ones (an empty string clears one)."""
        customer_id = body.get("customer_id")
        if not isinstance(customer_id, str) or not customer_id:
            raise field_error("customer_id", "is required")
        customer = self._owned(self.store.get("customer", customer_id), account, "Customer")
        self._check_customer(body, creating=False)
        changes = {key: value for key, value in body.items() if key in customer and not key.startswith("_")}
        changes.pop("id", None)
        return self.store.put("customer", {**customer, **changes, "updated_at": iso(self.clock())})

    @staticmethod
    def _check_customer(body: Record, *, creating: bool) -> None:
        errors = FieldErrors()
        if creating:
            _required_text(errors, body, "description")
            if body.get("type") in (None, ""):
                errors.add("type", "is required")
        for part, required in (
            ("individual", ("first_name", "last_name", "address_country")),
            ("company", ("name", "registration_number", "incorporation_country", "address_country")),
        ):
            value = body.get(part)
            if value is None:
                continue
            if not isinstance(value, dict):
                errors.add(part, "must be an object")
                continue
            for key in required:
                if not isinstance(value.get(key), str) or not value[key].strip():
                    errors.add(f"{part}.{key}", "is required")
        errors.raise_if_any()

    # --- payouts and balance ----------------------------------------------------------------

    def create_payout(self, account: SandboxAccount, body: Record) -> Record:
        """Create Payout: PENDING and approved; the sandbox does not check the balance."""
        errors = FieldErrors()
        _required_text(errors, body, "payout_method_name")
        currency_key = "beneficiary_currency" if body.get("beneficiary_currency") else "sender_currency"
        currency = _currency(errors, body, currency_key)
        amount_key = "beneficiary_amount" if body.get("beneficiary_amount") is not None else "sender_amount"
        amount = errors.check(amount_key, money_amount, body.get(amount_key), currency) if currency else None
        errors.raise_if_any()
        if amount is None or currency is None:
            raise SandboxError(422, "The request could not be validated")
        return self.store.put("payout", new_payout(account.merchant_id, body, amount, currency, self.clock()))

    def balance(self, account: SandboxAccount, currency: str) -> Record:
        """Settled payins minus payouts in ``currency`` (may go below zero: payouts are not refused)."""
        code = currency.upper()
        received = sum(
            (
                Decimal(payin["amount"])
                for payin in self.store.filter("payin", _account=account.merchant_id, status="SUCCESS")
                if payin["amount_type"] == code
            ),
            Decimal(0),
        )
        paid_out = sum(
            (
                Decimal(payout["wire_amount"])
                for payout in self.store.filter("payout", _account=account.merchant_id, currency=code)
                if payout["status"] != "FAILED"
            ),
            Decimal(0),
        )
        return {"currency": code, "balance": received - paid_out}
