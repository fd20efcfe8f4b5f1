"""Checks on what merchants send, with Laravel-style field errors (422) and exact ``Decimal`` money.

PayCombat's API is a Laravel application (its X-token is a Laravel-encrypted blob), so field errors are
answered the way Laravel validation answers them: HTTP 422, the first message in ``message`` and every
message per field in ``errors`` (contract inferences ``error_status_codes`` and ``validation_error_shape``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit

from paycombat_gateway.money import (
    AMOUNT_LIMIT,
    AmountTooLarge,
    MoneyError,
    currency_exponent,
    quantize,
    to_decimal,
)
from paycombat_gateway.paycombat.contract import KRW_BANKS, PAYIN_METHODS_BY_CURRENCY
from paycombat_gateway.sandbox.errors import SandboxError

__all__ = [
    "DEFAULT_EXPIRY",
    "MAX_EXPIRY",
    "FieldErrors",
    "PaymentRequestSpec",
    "allowed_methods",
    "field_error",
    "money_amount",
    "parse_json_object",
    "payment_request",
]

DEFAULT_EXPIRY = timedelta(seconds=172_800)  # default_expiry_time_seconds of every payin method (48 h)
MAX_EXPIRY = timedelta(seconds=34_560_000)  # max_expiration_time_in_seconds (400 days)
REDIRECT_KEYS = ("cancelled_url", "completed_url", "expired_url", "failed_url")
_T = TypeVar("_T")


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object with exact decimals; 400 when it is not one."""
    try:
        parsed = json.loads(raw or b"{}", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise SandboxError(400, "The request body must be JSON") from None
    if not isinstance(parsed, dict):
        raise SandboxError(400, "The request body must be a JSON object")
    return parsed


def allowed_methods(currency: str) -> tuple[str, ...]:
    """Payin method names a checkout in ``currency`` accepts; for KRW also the banks' names."""
    methods = PAYIN_METHODS_BY_CURRENCY.get(currency, ())
    return methods + KRW_BANKS if currency == "KRW" else methods


def money_amount(value: Any, currency: str, *, allow_zero: bool = False, allow_text: bool = False) -> Decimal:
    """``value`` as an exact amount of ``currency``; ``ValueError`` with a reason otherwise.

    JSON numbers only (decimal strings too with ``allow_text``, for the sandbox's own API); never
    rounded: 10.005 USD or 100.5 KRW are refused, not adjusted.
    """
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float | str):
        raise ValueError("must be a number")
    if isinstance(value, str) and not allow_text:
        raise ValueError("must be a number, not a string")
    try:
        amount = quantize(to_decimal(value), currency)
    except AmountTooLarge:
        raise ValueError(f"must be below {AMOUNT_LIMIT:,}") from None
    except MoneyError:
        places = currency_exponent(currency)
        raise ValueError(
            f"must be a number with at most {places} decimal place(s) in {currency}"
            if places
            else f"must be a whole number in {currency}"
        ) from None
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValueError("must be greater than zero" if not allow_zero else "cannot be negative")
    return amount


def field_error(name: str, message: str) -> SandboxError:
    """A 422 for one field, shaped like ``FieldErrors`` raises them: ``The <name> field <message>.``"""
    text = f"The {name} field {message}."
    return SandboxError(422, text, {name: [text]})


class FieldErrors:
    """Collects every field error of one request, then raises them together."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(f"The {name} field {message}.")

    def check(self, name: str, convert: Callable[..., _T], *args: Any, **kwargs: Any) -> _T | None:
        """``convert(*args, **kwargs)``, or None with the error recorded when it raises ``ValueError``."""
        try:
            return convert(*args, **kwargs)
        except ValueError as exc:
            self.add(name, str(exc))
            return None

    def raise_if_any(self) -> None:
        if self.errors:
            first = next(iter(self.errors.values()))[0]
            more = sum(len(messages) for messages in self.errors.values()) - 1
            message = first if not more else f"{first} (and {more} more error{'s' if more > 1 else ''})"
            raise SandboxError(422, message, self.errors)


def _text(value: Any, *, required: bool = False, max_length: int = 255) -> str | None:
    if value is None or value == "":
        if required:
            raise ValueError("is required")
        return None
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if len(value) > max_length:
        raise ValueError(f"must be at most {max_length} characters")
    return value


def _http_url(value: Any) -> str | None:
    if value is None or value == "":
        return None
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL")
    if len(value) > 2048:
        raise ValueError("must be at most 2048 characters")
    return str(value)


def _code(value: Any, length: int, what: str) -> str:
    if not isinstance(value, str) or len(value.strip()) != length or not value.strip().isalpha():
        raise ValueError(f"must be a {length}-letter {what}")
    return value.strip().upper()


def _currency(value: Any) -> str:
    code = _code(value, 3, "ISO 4217 currency code")
    if code not in PAYIN_METHODS_BY_CURRENCY:
        raise ValueError(f"must be one of {', '.join(sorted(PAYIN_METHODS_BY_CURRENCY))}")
    return code


def _expire_at(value: Any, now: datetime) -> datetime:
    if value is None or value == "":
        return now + DEFAULT_EXPIRY
    if not isinstance(value, str):
        raise ValueError("must be an ISO-8601 date and time")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("must be an ISO-8601 date and time") from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if moment <= now:
        raise ValueError("must be in the future")
    if moment > now + MAX_EXPIRY:
        raise ValueError("must be at most 400 days away")
    return moment


@dataclass(frozen=True)
class PaymentRequestSpec:
    """A validated Create Payment Request body, normalised (upper-case codes, exact amounts)."""

    amount: Decimal
    currency: str
    country_code: str
    expire_at: datetime
    description: str | None = None
    customer_id: str | None = None
    redirect_url: str | None = None
    advanced_redirect_url: dict[str, str | None] | None = None
    webhook_url: str | None = None
    additional_info: dict[str, Any] = field(default_factory=dict)
    order_items: list[dict[str, Any]] = field(default_factory=list)
    order_fees: list[dict[str, Any]] = field(default_factory=list)
    payin_method_name: str | None = None


def _lines(errors: FieldErrors, value: Any, name: str, currency: str | None) -> list[dict[str, Any]]:
    """``order_items`` or ``order_fees`` with exact amounts (quantities: whole numbers of at least 1)."""
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add(name, "must be a list")
        return []
    label_key, amount_key = (
        ("product_name", "unit_price") if name == "order_items" else ("fee_name", "fee_amount")
    )
    lines: list[dict[str, Any]] = []
    for index, line in enumerate(value):
        where = f"{name}.{index}"
        if not isinstance(line, dict):
            errors.add(where, "must be an object")
            continue
        normalised = dict(line)
        normalised[label_key] = errors.check(
            f"{where}.{label_key}", _text, line.get(label_key), required=True
        )
        if currency:
            normalised[amount_key] = errors.check(
                f"{where}.{amount_key}", money_amount, line.get(amount_key), currency, allow_zero=True
            )
        if name == "order_items":
            quantity = line.get("quantity")
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                errors.add(f"{where}.quantity", "must be a whole number of at least 1")
        lines.append(normalised)
    return lines


def _redirects(errors: FieldErrors, value: Any) -> dict[str, str | None] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.add("advanced_redirect_url", "must be an object or null")
        return None
    return {
        key: errors.check(f"advanced_redirect_url.{key}", _http_url, value.get(key)) for key in REDIRECT_KEYS
    }


def payment_request(body: dict[str, Any], now: datetime) -> PaymentRequestSpec:
    """Validate a Create Payment Request body; every problem is reported at once (422)."""
    errors = FieldErrors()
    currency = errors.check("currency", _currency, body.get("currency"))
    country_code = errors.check("country_code", _code, body.get("country_code"), 2, "country code")
    amount: Decimal | None = None
    if body.get("amount") is None:
        errors.add("amount", "is required")
    elif currency:
        amount = errors.check("amount", money_amount, body.get("amount"), currency)
    items = _lines(errors, body.get("order_items"), "order_items", currency)
    fees = _lines(errors, body.get("order_fees"), "order_fees", currency)
    redirects = _redirects(errors, body.get("advanced_redirect_url"))
    additional_info = body.get("additional_info")
    if additional_info is not None and not isinstance(additional_info, dict):
        errors.add("additional_info", "must be an object or null")
    method = errors.check("payin_method_name", _text, body.get("payin_method_name"))
    if method and currency and method not in allowed_methods(currency):
        errors.add("payin_method_name", f"is not offered for {currency}")
    description = errors.check("description", _text, body.get("description"))
    customer_id = errors.check("customer_id", _text, body.get("customer_id"))
    redirect_url = errors.check("redirect_url", _http_url, body.get("redirect_url"))
    webhook_url = errors.check("webhook_url", _http_url, body.get("webhook_url"))
    expire_at = errors.check("expire_at", _expire_at, body.get("expire_at"), now)
    errors.raise_if_any()
    if amount is None or currency is None or country_code is None or expire_at is None:
        raise SandboxError(422, "The request could not be validated")  # unreachable: errors were raised
    if items or fees:
        total = sum((line["unit_price"] * line["quantity"] for line in items), Decimal(0)) + sum(
            (line["fee_amount"] for line in fees), Decimal(0)
        )
        if total != amount:
            errors.add("amount", f"must equal the total of order_items and order_fees ({total} {currency})")
            errors.raise_if_any()
    return PaymentRequestSpec(
        amount=amount,
        currency=currency,
        country_code=country_code,
        expire_at=expire_at,
        description=description,
        customer_id=customer_id,
        redirect_url=redirect_url,
        advanced_redirect_url=redirects,
        webhook_url=webhook_url,
        additional_info=dict(additional_info or {}),
        order_items=items,
        order_fees=fees,
        payin_method_name=method,
    )
