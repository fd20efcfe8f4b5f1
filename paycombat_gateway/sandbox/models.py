"""The records the sandbox keeps and sends, in PayCombat's documented shapes (paycombat-api.md §5, §8).

Records are plain dicts in wire order. Keys starting with ``_`` are the sandbox's own bookkeeping (which
account owns a record, a checkout's state) and never leave it: ``public`` strips them.
"""

from __future__ import annotations

import math
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from paycombat_gateway.paycombat.contract import CURRENCY_HOME_COUNTRY, KRW_BANKS, PAYIN_METHODS_BY_CURRENCY
from paycombat_gateway.sandbox.accounts import SandboxAccount
from paycombat_gateway.sandbox.validation import PaymentRequestSpec

__all__ = [
    "CheckoutState",
    "Clock",
    "all_method_descriptors",
    "iso",
    "method_descriptor",
    "new_checkout",
    "new_customer",
    "new_payin",
    "new_payout",
    "new_virtual_account",
    "public",
    "utc_now",
    "va_register_callback",
]

Clock = Callable[[], datetime]
Record = dict[str, Any]


class CheckoutState(StrEnum):
    """A checkout's life in the sandbox (``_status``; PayCombat's checkout object shows no state)."""

    OPEN = "OPEN"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """PayCombat's timestamp form: ``2025-03-19T13:18:09.000Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def public(record: Any) -> Any:
    """``record`` without the sandbox's ``_`` bookkeeping keys, at any depth."""
    if isinstance(record, dict):
        return {key: public(value) for key, value in record.items() if not str(key).startswith("_")}
    if isinstance(record, list):
        return [public(item) for item in record]
    return record


# Upper-case English names, as the documented example writes "AUSTRALIA" (contract inference ``country_name``).
def paginate(records: list[Record], page: int, per_page: int) -> Record:
    """One page of ``records`` in Laravel's paginator shape (contract inference
    ``get_all_checkout_pagination``, shared by every list the sandbox serves)."""
    start = (page - 1) * per_page
    items = records[start : start + per_page]
    return {
        "current_page": page,
        "data": items,
        "per_page": per_page,
        "total": len(records),
        "last_page": max(math.ceil(len(records) / per_page), 1),
        "from": start + 1 if items else None,
        "to": start + len(items) if items else None,
    }


COUNTRY_NAMES = {
    "AU": "AUSTRALIA", "EU": "EUROPE", "KR": "SOUTH KOREA", "US": "UNITED STATES", "SG": "SINGAPORE",
    "NZ": "NEW ZEALAND", "PH": "PHILIPPINES", "JP": "JAPAN", "GB": "UNITED KINGDOM", "DE": "GERMANY",
    "FR": "FRANCE", "NL": "NETHERLANDS", "ID": "INDONESIA", "CA": "CANADA",
}  # fmt: skip


def new_checkout(spec: PaymentRequestSpec, account: SandboxAccount, base_url: str, now: datetime) -> Record:
    """The checkout object of Get Detail Checkout (§5.3), created from a validated payment request."""
    token = secrets.token_hex(32)
    query = urlencode({"token": token, "identifier": account.identifier})
    return {
        "id": str(uuid.uuid4()),
        "checkout_token": token,
        "amount": spec.amount,
        "currency": spec.currency,
        "country_code": spec.country_code,
        "country_name": COUNTRY_NAMES.get(spec.country_code, spec.country_code),
        "payin_method_name": spec.payin_method_name,
        "payin_type": None,
        "description": spec.description,
        "merchant_id": account.merchant_id,
        "customer_id": spec.customer_id,
        "checkout_url": f"{base_url.rstrip('/')}/checkout/?{query}",
        "redirect_url": spec.redirect_url,
        "advanced_redirect_url": spec.advanced_redirect_url,
        "webhook_url": spec.webhook_url,
        "expire_at": iso(spec.expire_at),
        "additional_info": spec.additional_info,
        "order_summary": {
            "order_items": spec.order_items,
            "order_fees": spec.order_fees,
            "total_amount": spec.amount,
            "currency": spec.currency,
        },
        "created_at": iso(now),
        "updated_at": iso(now),
        "deleted_at": None,
        "_status": CheckoutState.OPEN.value,
        "_account": account.merchant_id,
        "_payin_id": None,
        "_virtual_account_id": None,
    }


def new_payin(
    *,
    merchant_id: str,
    status: str,
    amount: Decimal,
    currency: str,
    payment_method: str,
    reference: str | None,
    now: datetime,
    trx_type: str,
    customer: dict[str, Any] | None = None,
    country: str | None = None,
    payer_id: str | None = None,
) -> Record:
    """A payin record in the documented shape (§8.1): ISO currency in ``amount_type``, ``currency`` "FIAT".

    Deliberately no ``checkout_id``: PayCombat documents none, so the merchant must match a payin to
    its checkout through ``transaction`` / ``order_reference`` (the checkout's ``description``).
    """
    customer = customer or {}
    return {
        "id": str(uuid.uuid4()),
        "payin_id_finmo": "payin_" + secrets.token_hex(16),
        "merchant_id": merchant_id,
        "status": status,
        "amount": amount,
        "original_amount": amount,
        "amount_type": currency,
        "currency": "FIAT",
        "transaction": reference,
        "transaction_date": iso(now),
        "payment_method": payment_method,
        "order_reference": reference,
        "customer_full_name": str(customer.get("customer_name") or customer.get("customer_full_name") or ""),
        "reply_code": "",
        "brand": "",
        "credit_type": "PAYIN",
        "payer_id": payer_id or "",
        "recon_id": "",
        "order_reference_1": "",
        "order_reference_2": "",
        "platform_identifier": "",
        "trx_type": trx_type,
        "customer_email": str(customer.get("customer_email") or ""),
        "customer_phone": str(customer.get("customer_phone") or ""),
        "customer_personal_number": "",
        "fee_taken": 0,
        "fee_expected": 0,
        "charge_back": 0,
        "rolling_serve": 0,
        "retrieval": 0,
        "is_black_list": 0,
        "ip_address": "",
        "billing_address_country": country or "",
        "billing_address_city": "",
        "billing_address_zip_code": "",
        "billing_address": "",
        "bin": "",
        "is_3ds": "",
        "bank_psp": None,
        "created_at": iso(now),
        "updated_at": iso(now),
        "deleted_at": None,
        "payment_date": iso(now) if status == "SUCCESS" else None,
        "type": "PAYIN",
        "_account": merchant_id,
    }


def new_virtual_account(
    *, merchant_id: str, bank: str, amount: Decimal, expire_at: str, now: datetime, **extra: Any
) -> Record:
    """A KRW virtual account (contract inference ``va_bank_information``): where the shopper transfers to."""
    return {
        "id": str(uuid.uuid4()),
        "bank_name": bank,
        "account_number": "".join(str(secrets.randbelow(10)) for _ in range(14)),
        "account_holder": "PAYCOMBAT SANDBOX",
        "amount": amount,
        "currency": "KRW",
        "status": "APPROVED",
        "expire_at": expire_at,
        "created_at": iso(now),
        **extra,
        "_account": merchant_id,
    }


def va_register_callback(virtual_account: Record, reference: str | None) -> Record:
    """The VA Register Callback body (contract inference ``va_register_callback``)."""
    return {
        "id": virtual_account["id"],
        "status": virtual_account["status"],
        "bank_name": virtual_account["bank_name"],
        "account_number": virtual_account["account_number"],
        "account_holder": virtual_account["account_holder"],
        "amount": virtual_account["amount"],
        "order_reference": reference,
        "expire_at": virtual_account["expire_at"],
        "created_at": virtual_account["created_at"],
    }


def method_descriptor(name: str, currency: str) -> Record:
    """A payin method as Get Required Fields by Payin method shows it (internal docs, api-12823595)."""
    is_bank = name in KRW_BANKS or "bank" in name or name.endswith("virtual_account")
    params = (
        [
            {"name": "payid_reference", "type": "text", "label": "PayID reference", "regex": "",
             "mandatory": False, "field_description": "Reference shown to the payer"},
            {"name": "payid_description", "type": "text", "label": "PayID description", "regex": "",
             "mandatory": False, "field_description": "Description shown to the payer"},
        ]
        if name == "au_bank_npp"
        else []
    )  # fmt: skip
    return {
        "payin_method_id": "pim_" + uuid.uuid5(uuid.NAMESPACE_URL, f"paycombat-sandbox:{name}").hex,
        "payin_method_name": name,
        "payin_method_description": name.replace("_", " "),
        "payin_method_logo": None,
        "payin_method_instruction": [],
        "payin_method_category": "BANK" if is_bank else "CARD",
        "payin_method_class": "DOMESTIC" if is_bank else "INTERNATIONAL",
        "payin_method_group": "NO_GROUP",
        "country": CURRENCY_HOME_COUNTRY.get(currency, ""),
        "currency": currency,
        "payin_method_param": params,
        "min_amount": 1,
        "max_amount": 10_000_000,
        "is_va_allowed": currency == "KRW",
        "is_payin_allowed": True,
        "is_cancellable": True,
        "is_refundable": False,
        "max_expiration_time_in_seconds": "34560000",
        "default_expiry_time_seconds": "172800",
    }


def all_method_descriptors(currency: str | None = None) -> list[Record]:
    """Every method the sandbox offers (for KRW also each bank), optionally for one currency."""
    currencies = [currency] if currency else list(PAYIN_METHODS_BY_CURRENCY)
    return [
        method_descriptor(name, code)
        for code in currencies
        for name in PAYIN_METHODS_BY_CURRENCY.get(code, ()) + (KRW_BANKS if code == "KRW" else ())
    ]


def new_customer(merchant_id: str, body: dict[str, Any], now: datetime) -> Record:
    """A customer as Create Customer returns it; ``id`` in PayCombat's ``customer_<32 hex>`` form."""
    customer_id = "customer_" + secrets.token_hex(16)
    return {
        "id": customer_id,
        "customer_id": customer_id,
        "merchant_id": merchant_id,
        "description": body.get("description"),
        "type": body.get("type"),
        "organization_reference_id": body.get("organization_reference_id"),
        "metadata": body.get("metadata") or {},
        "individual": body.get("individual"),
        "company": body.get("company"),
        "created_at": iso(now),
        "updated_at": iso(now),
        "_account": merchant_id,
    }


def new_payout(
    merchant_id: str, body: dict[str, Any], amount: Decimal, currency: str, now: datetime
) -> Record:
    """A payout record as Create Payout returns it (§8.2): PENDING, approved, a ``w_txn_`` wire id."""
    beneficiary = body.get("payout_beneficiary_param") or {}
    individual = beneficiary.get("individual") or {} if isinstance(beneficiary, dict) else {}
    return {
        "id": str(uuid.uuid4()),
        "payout_id_finmo": "payout_" + secrets.token_hex(16),
        "merchant_id": merchant_id,
        "reply_code_id_pg": None,
        "status": "PENDING",
        "wire_id": "w_txn_" + secrets.token_hex(16),
        "order_id": body.get("order_id"),
        "due_date": None,
        "last_action": "CREATED",
        "original_amount": str(amount),
        "wire_amount": amount,
        "fee_taken": 0,
        "fee_expected": 0,
        "payee_name": " ".join(
            str(part) for part in (individual.get("first_name"), individual.get("last_name")) if part
        ),
        "currency": currency,
        "beneficiary": beneficiary if isinstance(beneficiary, dict) else {},
        "beneficiary_bank": body.get("payout_method_name"),
        "beneficiary_account_number": beneficiary.get("account_number")
        if isinstance(beneficiary, dict)
        else None,
        "beneficiary_account_iban": None,
        "wire_origin": "API",
        "conversion": None,
        "process": None,
        "approval": "APPROVED",
        "created_at": iso(now),
        "updated_at": iso(now),
        "approved_at": iso(now),
        "denied_at": None,
        "pending_at": iso(now),
        "type": "PAYOUT",
        "_account": merchant_id,
    }
