"""The sandbox's behaviour, independent of HTTP: checkouts, settlement, virtual accounts, payins."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode, urlsplit

from paycombat_gateway.money import MoneyError, quantize, to_decimal
from paycombat_gateway.paycombat.contract import KRW_BANKS, PAYIN_METHODS_BY_CURRENCY
from paycombat_gateway.sandbox.accounts import SandboxAccount
from paycombat_gateway.sandbox.dispatcher import WebhookDispatcher
from paycombat_gateway.sandbox.store import SandboxStore

__all__ = ["SandboxError", "SandboxService"]

DEFAULT_EXPIRY = timedelta(seconds=172_800)  # Finmo's default_expiry_time_seconds
OUTCOME_STATUS = {"success": "SUCCESS", "failed": "FAILED", "expired": "EXPIRED"}
FINAL_CHECKOUT_STATES = {"COMPLETED", "FAILED", "EXPIRED", "CANCELLED"}


class SandboxError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _require(body: dict[str, Any], *names: str) -> None:
    missing = [name for name in names if body.get(name) in (None, "")]
    if missing:
        raise SandboxError(422, f"{', '.join(missing)} is required")


def _url(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or urlsplit(value).scheme not in {"http", "https"}
        or not urlsplit(value).hostname
    ):
        raise SandboxError(422, f"{field} must be an absolute http(s) URL")
    return value


def _amount(value: Any, currency: str, field: str) -> Decimal:
    try:
        amount = quantize(to_decimal(value), currency)
    except MoneyError as exc:
        raise SandboxError(422, f"{field}: {exc}") from None
    return amount


@dataclass
class SandboxService:
    store: SandboxStore
    dispatcher: WebhookDispatcher

    # --- checkouts ------------------------------------------------------------------------------

    def create_payment_request(
        self, account: SandboxAccount, body: dict[str, Any], *, base_url: str
    ) -> dict[str, Any]:
        _require(body, "amount", "currency", "country_code")
        currency = str(body["currency"]).upper()
        if currency not in PAYIN_METHODS_BY_CURRENCY:
            raise SandboxError(422, f"currency {currency} is not supported")
        amount = _amount(body["amount"], currency, "amount")
        if amount <= 0:
            raise SandboxError(422, "amount must be positive")
        items = body.get("order_items") or []
        fees = body.get("order_fees") or []
        if items or fees:
            try:
                total = sum(
                    (
                        _amount(item["unit_price"], currency, "unit_price") * int(item["quantity"])
                        for item in items
                    ),
                    Decimal(0),
                ) + sum((_amount(fee["fee_amount"], currency, "fee_amount") for fee in fees), Decimal(0))
            except (KeyError, TypeError, ValueError):
                raise SandboxError(
                    422,
                    "order_items need product_name, quantity, unit_price; order_fees need fee_name, fee_amount",
                ) from None
            if total != amount:
                raise SandboxError(
                    422, f"amount must equal the total of order_items and order_fees ({total})"
                )
        advanced = body.get("advanced_redirect_url")
        if advanced is not None:
            if not isinstance(advanced, dict):
                raise SandboxError(422, "advanced_redirect_url must be an object or null")
            advanced = {
                key: _url(advanced.get(key), f"advanced_redirect_url.{key}")
                for key in ("completed_url", "cancelled_url", "expired_url", "failed_url")
            }
        token = secrets.token_hex(32)
        checkout_id = str(uuid.uuid4())
        expire_at = body.get("expire_at") or (datetime.now(UTC) + DEFAULT_EXPIRY).isoformat(
            timespec="seconds"
        )
        now = _now()
        checkout = {
            "id": checkout_id,
            "checkout_token": token,
            "amount": amount,
            "currency": currency,
            "country_code": str(body["country_code"]).upper(),
            "country_name": str(body["country_code"]).upper(),
            "payin_method_name": None,
            "payin_type": None,
            "description": body.get("description"),
            "merchant_id": account.merchant_id,
            "customer_id": body.get("customer_id"),
            "redirect_url": _url(body.get("redirect_url"), "redirect_url"),
            "advanced_redirect_url": advanced,
            "webhook_url": _url(body.get("webhook_url"), "webhook_url"),
            "checkout_url": f"{base_url.rstrip('/')}/checkout/?"
            + urlencode({"token": token, "identifier": account.identifier}),
            "expire_at": expire_at,
            "additional_info": body.get("additional_info") or {},
            "order_summary": {"order_items": items, "order_fees": fees, "total": amount},
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
            # sandbox bookkeeping, not part of PayCombat's object
            "_status": "OPEN",
            "_account": account.name,
        }
        return self.store.put("checkout", checkout)

    def checkout_for(self, account: SandboxAccount, checkout_id: str) -> dict[str, Any]:
        checkout = self.store.get("checkout", checkout_id)
        if checkout is None or checkout["_account"] != account.name:
            raise SandboxError(404, "checkout not found")
        return checkout

    def checkout_by_token(self, token: str, account: SandboxAccount | None = None) -> dict[str, Any]:
        checkout = self.store.find("checkout", checkout_token=token)
        if checkout is None or (account is not None and checkout["_account"] != account.name):
            raise SandboxError(404, "checkout not found")
        return checkout

    def choose_method(self, checkout: dict[str, Any], method: str) -> dict[str, Any]:
        self._open(checkout)
        allowed = PAYIN_METHODS_BY_CURRENCY.get(checkout["currency"], ())
        if method not in allowed and not (checkout["currency"] == "KRW" and method in KRW_BANKS):
            raise SandboxError(422, f"payin_method_name {method} is not available for {checkout['currency']}")
        return self.store.put("checkout", {**checkout, "payin_method_name": method, "updated_at": _now()})

    def create_virtual_account(
        self, checkout: dict[str, Any], bank: str, account: SandboxAccount
    ) -> dict[str, Any]:
        self._open(checkout)
        if checkout["currency"] != "KRW":
            raise SandboxError(422, "virtual accounts are for KRW checkouts only")
        if bank not in KRW_BANKS:
            raise SandboxError(422, f"payin_method_name must be one of: {', '.join(KRW_BANKS)}")
        existing = self.store.find("virtual_account", checkout_id=checkout["id"])
        if existing is not None and existing["bank_name"] == bank:
            return self.store.put("checkout", {**checkout, "payin_method_name": bank})
        virtual_account = self.store.put(
            "virtual_account",
            {
                "id": str(uuid.uuid4()),
                "checkout_id": checkout["id"],
                "bank_name": bank,
                "account_number": "".join(str(secrets.randbelow(10)) for _ in range(14)),
                "account_holder": "PAYCOMBAT SANDBOX",
                "amount": checkout["amount"],
                "currency": "KRW",
                "expire_at": checkout["expire_at"],
                "status": "APPROVED",
            },
        )
        updated = self.store.put("checkout", {**checkout, "payin_method_name": bank, "updated_at": _now()})
        if checkout.get("webhook_url"):
            callback = {
                "id": virtual_account["id"],
                "status": "APPROVED",
                "bank_name": bank,
                "account_number": virtual_account["account_number"],
                "account_holder": virtual_account["account_holder"],
                "order_reference": checkout.get("description"),
                "expire_at": virtual_account["expire_at"],
            }
            self.dispatcher.send(checkout["webhook_url"], callback, account.signature_key, "VA_REGISTER")
        return updated

    def virtual_account_of(self, checkout: dict[str, Any]) -> dict[str, Any]:
        virtual_account = self.store.find("virtual_account", checkout_id=checkout["id"])
        if virtual_account is None:
            raise SandboxError(404, "this checkout has no virtual account")
        return virtual_account

    def cancel(self, checkout: dict[str, Any]) -> dict[str, Any]:
        if checkout["_status"] == "COMPLETED":
            raise SandboxError(400, "checkout is already paid and cannot be cancelled")
        if checkout["_status"] in FINAL_CHECKOUT_STATES:
            raise SandboxError(400, f"checkout is already {checkout['_status'].lower()}")
        return self.store.put("checkout", {**checkout, "_status": "CANCELLED", "updated_at": _now()})

    def _open(self, checkout: dict[str, Any]) -> None:
        if checkout["_status"] in FINAL_CHECKOUT_STATES:
            raise SandboxError(409, f"checkout is already {checkout['_status'].lower()}")

    # --- settlement -----------------------------------------------------------------------------

    def settle(
        self,
        checkout: dict[str, Any],
        account: SandboxAccount,
        outcome: str,
        *,
        payin_method_name: str | None = None,
        amount: Any = None,
    ) -> dict[str, Any]:
        """What the hosted page does when the shopper pays, fails or lets the checkout expire."""
        if outcome not in OUTCOME_STATUS:
            raise SandboxError(422, "outcome must be success, failed or expired")
        with self.store.locked():
            checkout = self.store.get("checkout", checkout["id"]) or checkout
            self._open(checkout)
            paid = (
                _amount(amount, checkout["currency"], "amount") if amount is not None else checkout["amount"]
            )
            method = (
                payin_method_name
                or checkout.get("payin_method_name")
                or PAYIN_METHODS_BY_CURRENCY[checkout["currency"]][0]
            )
            now = _now()
            payin = self.store.put(
                "payin",
                {
                    "id": str(uuid.uuid4()),
                    "payin_id_finmo": "payin_" + secrets.token_hex(16),
                    "merchant_id": checkout["merchant_id"],
                    "status": OUTCOME_STATUS[outcome],
                    "amount": paid,
                    "original_amount": paid,
                    "amount_type": checkout["currency"],
                    "currency": "FIAT",
                    "transaction": checkout.get("description"),
                    "transaction_date": now,
                    "payment_method": method,
                    "order_reference": checkout.get("description"),
                    "customer_full_name": "Sandbox Shopper",
                    "credit_type": "PAYIN",
                    "trx_type": "CHECKOUT_PAYIN",
                    "fee_taken": 0,
                    "fee_expected": 0,
                    "billing_address_country": checkout["country_code"],
                    "created_at": now,
                    "updated_at": now,
                    "deleted_at": None,
                    "payment_date": now if outcome == "success" else None,
                    "type": "PAYIN",
                },
            )
            status = {"success": "COMPLETED", "failed": "FAILED", "expired": "EXPIRED"}[outcome]
            self.store.put(
                "checkout", {**checkout, "_status": status, "payin_method_name": method, "updated_at": now}
            )
        if checkout.get("webhook_url"):
            self.dispatcher.send(
                checkout["webhook_url"], payin, account.signature_key, f"PAYIN_{payin['status']}"
            )
        return payin

    def return_url(self, checkout: dict[str, Any], outcome: str) -> str | None:
        advanced = checkout.get("advanced_redirect_url") or {}
        specific = advanced.get(
            {
                "success": "completed_url",
                "failed": "failed_url",
                "expired": "expired_url",
                "cancelled": "cancelled_url",
            }[outcome]
        )
        result: str | None = specific or checkout.get("redirect_url")
        return result

    # --- payins and the rest --------------------------------------------------------------------

    def payin_for(self, account: SandboxAccount, payin_id: str) -> dict[str, Any]:
        payin = self.store.get("payin", payin_id) or self.store.find("payin", payin_id_finmo=payin_id)
        if payin is None or payin["merchant_id"] != account.merchant_id:
            raise SandboxError(404, "payin not found")
        return payin

    def create_payin(self, account: SandboxAccount, body: dict[str, Any]) -> dict[str, Any]:
        _require(body, "amount", "currency", "payin_method_name")
        currency = str(body["currency"]).upper()
        amount = _amount(body["amount"], currency, "amount")
        now = _now()
        return self.store.put(
            "payin",
            {
                "id": str(uuid.uuid4()),
                "payin_id_finmo": "payin_" + secrets.token_hex(16),
                "merchant_id": account.merchant_id,
                "status": "PENDING",
                "amount": amount,
                "original_amount": amount,
                "amount_type": currency,
                "currency": "FIAT",
                "transaction": body.get("description"),
                "order_reference": body.get("description"),
                "payment_method": body["payin_method_name"],
                "payer_id": body.get("payer_id"),
                "trx_type": "DIRECT_PAYIN",
                "type": "PAYIN",
                "created_at": now,
                "updated_at": now,
            },
        )

    def create_account_record(
        self, kind: str, account: SandboxAccount, body: dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        return self.store.put(
            kind,
            {
                "id": str(uuid.uuid4()),
                "merchant_id": account.merchant_id,
                **body,
                **extra,
                "created_at": _now(),
            },
        )

    def balance(self, account: SandboxAccount, currency: str) -> dict[str, Any]:
        total = sum(
            (
                to_decimal(payin["amount"])
                for payin in self.store.all("payin")
                if payin["merchant_id"] == account.merchant_id
                and payin["status"] == "SUCCESS"
                and payin["amount_type"] == currency.upper()
            ),
            Decimal(0),
        )
        return {"currency": currency.upper(), "balance": total}
