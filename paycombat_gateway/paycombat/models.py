"""Typed PayCombat requests and responses.

Requests render to bodies in a fixed, documented key order (the order is part of what gets signed).
Responses accept fields PayCombat adds later (``extra="allow"``) and read every amount as ``Decimal``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from paycombat_gateway.money import quantize

__all__ = [
    "AdvancedRedirectUrl",
    "Balance",
    "Checkout",
    "Customer",
    "OrderFee",
    "OrderItem",
    "Payin",
    "PaymentRequest",
    "Payout",
    "VirtualAccount",
]


class _Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Response(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")


class AdvancedRedirectUrl(_Request):
    """Per-outcome return URLs (documented: cancelled_url, completed_url, expired_url, failed_url)."""

    completed_url: str | None = None
    cancelled_url: str | None = None
    expired_url: str | None = None
    failed_url: str | None = None


class OrderItem(_Request):
    product_name: str
    quantity: int = Field(gt=0)
    unit_price: Decimal


class OrderFee(_Request):
    fee_name: str
    fee_amount: Decimal


class PaymentRequest(_Request):
    """The body of Create Payment Request (fields beyond the guidance text: see contract INFERENCES)."""

    amount: Decimal
    currency: str = Field(min_length=3, max_length=3)
    country_code: str = Field(min_length=2, max_length=2)
    description: str | None = None
    customer_id: str | None = None
    redirect_url: str | None = None
    advanced_redirect_url: AdvancedRedirectUrl | None = None
    webhook_url: str | None = None
    additional_info: dict[str, Any] = Field(default_factory=dict)
    order_items: list[OrderItem] = Field(default_factory=list)
    order_fees: list[OrderFee] = Field(default_factory=list)
    expire_at: str | None = None

    @field_validator("currency", "country_code")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @model_validator(mode="after")
    def _amounts_are_exact(self) -> PaymentRequest:
        quantize(self.amount, self.currency)
        if self.amount <= 0:
            raise ValueError("amount must be positive")
        for item in self.order_items:
            quantize(item.unit_price, self.currency)
        for fee in self.order_fees:
            quantize(fee.fee_amount, self.currency)
        if self.order_items or self.order_fees:
            total = sum((item.unit_price * item.quantity for item in self.order_items), Decimal(0))
            total += sum((fee.fee_amount for fee in self.order_fees), Decimal(0))
            if total != self.amount:
                raise ValueError(
                    f"order_items and order_fees add up to {total}, not the amount {self.amount}"
                )
        return self

    def to_body(self) -> dict[str, Any]:
        """The JSON body in documented order; absent optional fields are left out."""
        body: dict[str, Any] = {
            "amount": self.amount,
            "currency": self.currency,
            "country_code": self.country_code,
            "description": self.description,
            "customer_id": self.customer_id,
            "redirect_url": self.redirect_url,
            "advanced_redirect_url": (
                self.advanced_redirect_url.model_dump() if self.advanced_redirect_url is not None else None
            ),
            "webhook_url": self.webhook_url,
            "additional_info": self.additional_info,
            "order_items": [item.model_dump() for item in self.order_items],
            "order_fees": [fee.model_dump() for fee in self.order_fees],
        }
        if self.expire_at is not None:
            body["expire_at"] = self.expire_at
        return {key: value for key, value in body.items() if value is not None or key == "customer_id"}


class Checkout(_Response):
    """A hosted checkout (Get Detail Checkout / Create New Checkout / Create Payment Request)."""

    id: str
    checkout_token: str | None = Field(default=None, repr=False)
    checkout_url: str | None = Field(default=None, repr=False)
    amount: Decimal | None = None
    currency: str | None = None
    country_code: str | None = None
    payin_method_name: str | None = None
    description: str | None = None
    merchant_id: str | None = None
    redirect_url: str | None = None
    webhook_url: str | None = None
    expire_at: str | None = None
    created_at: str | None = None


class Payin(_Response):
    """A payin record (Retrieve Payin, PAYIN webhooks). ``currency`` is ``"FIAT"``; the ISO code is ``amount_type``."""

    id: str
    status: str
    amount: Decimal | None = None
    original_amount: Decimal | None = None
    amount_type: str | None = None
    currency: str | None = None
    transaction: str | None = None
    order_reference: str | None = None
    payment_method: str | None = None
    type: str | None = None
    payin_id_finmo: str | None = None
    created_at: str | None = None
    updated_at: str | None = None

    @property
    def iso_currency(self) -> str | None:
        """The ISO 4217 code: ``amount_type`` (documented), or ``currency`` when it is not ``FIAT``."""
        if self.amount_type and len(self.amount_type) == 3:
            return self.amount_type.upper()
        if self.currency and self.currency.upper() != "FIAT" and len(self.currency) == 3:
            return self.currency.upper()
        return None


class VirtualAccount(_Response):
    """A KRW virtual account for a checkout (fields: contract inference ``va_bank_information``)."""

    bank_name: str | None = None
    account_number: str | None = Field(default=None, repr=False)
    account_holder: str | None = None
    expire_at: str | None = None
    id: str | None = None


class Customer(_Response):
    id: str | None = None
    customer_id: str | None = None
    description: str | None = None
    type: Any = None


class Payout(_Response):
    id: str
    status: str | None = None
    wire_id: str | None = None
    order_id: str | None = None
    currency: str | None = None
    wire_amount: Decimal | None = None


class Balance(_Response):
    currency: str | None = None
    balance: Decimal | None = None
