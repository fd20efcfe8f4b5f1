"""Typed payloads of the sync webhooks this app subscribes to.

Saleor sends the subscription's ``event`` object. Amounts arrive as JSON numbers, so bodies are parsed
with ``parse_float=Decimal`` and every amount field is a ``Decimal``. Unknown fields are ignored so
that a newer Saleor adding fields never breaks parsing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Action",
    "AppDeleted",
    "CheckoutSource",
    "IssuingPrincipal",
    "OrderSource",
    "PaymentGatewayInitializeSession",
    "SourceLine",
    "SourceObject",
    "TransactionCancelationRequested",
    "TransactionInitializeSession",
    "TransactionProcessSession",
    "TransactionRef",
    "TransactionRefundRequested",
    "WebhookPayload",
]


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class _Id(_Payload):
    id: str


class _Channel(_Payload):
    slug: str
    currency_code: str | None = Field(default=None, alias="currencyCode")


class _Amount(_Payload):
    amount: Decimal
    currency: str | None = None


class _Taxed(_Payload):
    gross: _Amount


class _Country(_Payload):
    code: str


class _Address(_Payload):
    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")
    country: _Country | None = None

    @property
    def country_code(self) -> str | None:
        return self.country.code if self.country else None


class _Product(_Payload):
    name: str | None = None


class _Variant(_Payload):
    name: str | None = None
    product: _Product | None = None


class SourceLine(_Payload):
    quantity: int
    unit_price: _Taxed = Field(alias="unitPrice")
    total_price: _Taxed = Field(alias="totalPrice")
    variant: _Variant | None = None
    product_name: str | None = Field(default=None, alias="productName")
    variant_name: str | None = Field(default=None, alias="variantName")

    @property
    def name(self) -> str:
        product = self.product_name or (
            self.variant.product.name if self.variant and self.variant.product else None
        )
        variant = self.variant_name or (self.variant.name if self.variant else None)
        if product and variant and variant != product:
            return f"{product} ({variant})"
        return product or variant or "Item"


class CheckoutSource(_Payload):
    typename: Literal["Checkout"] = Field(alias="__typename")
    id: str
    email: str | None = None
    channel: _Channel
    total_price: _Taxed | None = Field(default=None, alias="totalPrice")
    billing_address: _Address | None = Field(default=None, alias="billingAddress")
    shipping_address: _Address | None = Field(default=None, alias="shippingAddress")
    lines: list[SourceLine] = Field(default_factory=list)

    @property
    def total(self) -> Decimal | None:
        return self.total_price.gross.amount if self.total_price else None

    @property
    def reference(self) -> str:
        return "Checkout"


class OrderSource(_Payload):
    typename: Literal["Order"] = Field(alias="__typename")
    id: str
    number: str | None = None
    channel: _Channel
    total_taxed: _Taxed | None = Field(default=None, alias="total")
    billing_address: _Address | None = Field(default=None, alias="billingAddress")
    shipping_address: _Address | None = Field(default=None, alias="shippingAddress")
    lines: list[SourceLine] = Field(default_factory=list)

    @property
    def total(self) -> Decimal | None:
        return self.total_taxed.gross.amount if self.total_taxed else None

    @property
    def reference(self) -> str:
        return f"Order #{self.number}" if self.number else "Order"


SourceObject = CheckoutSource | OrderSource


class Action(_Payload):
    amount: Decimal
    currency: str
    action_type: str = Field(alias="actionType")


class TransactionRef(_Payload):
    id: str
    token: str | None = None
    psp_reference: str | None = Field(default=None, alias="pspReference")
    charged_amount: _Amount | None = Field(default=None, alias="chargedAmount")
    authorized_amount: _Amount | None = Field(default=None, alias="authorizedAmount")
    checkout: dict[str, Any] | None = None
    order: dict[str, Any] | None = None

    @property
    def channel_slug(self) -> str | None:
        for source in (self.order, self.checkout):
            if source and isinstance(source.get("channel"), dict):
                slug = source["channel"].get("slug")
                if isinstance(slug, str):
                    return slug
        return None


class _Event(_Payload):
    version: str | None = None
    issued_at: str | None = Field(default=None, alias="issuedAt")
    recipient: _Id | None = None


class PaymentGatewayInitializeSession(_Event):
    amount: Decimal | None = None
    data: Any = None
    source_object: SourceObject = Field(alias="sourceObject", discriminator="typename")


class TransactionInitializeSession(_Event):
    idempotency_key: str = Field(alias="idempotencyKey")
    merchant_reference: str | None = Field(default=None, alias="merchantReference")
    customer_ip_address: str | None = Field(default=None, alias="customerIpAddress")
    data: Any = None
    action: Action
    transaction: TransactionRef
    source_object: SourceObject = Field(alias="sourceObject", discriminator="typename")


class TransactionProcessSession(_Event):
    merchant_reference: str | None = Field(default=None, alias="merchantReference")
    data: Any = None
    action: Action
    transaction: TransactionRef
    source_object: SourceObject = Field(alias="sourceObject", discriminator="typename")


class IssuingPrincipal(_Payload):
    """Who made Saleor send the event: a staff user or an app; absent for Saleor's own jobs."""

    typename: str | None = Field(default=None, alias="__typename")
    id: str | None = None
    name: str | None = None

    def describe(self) -> str:
        if self.typename == "App":
            return f"app {self.name or self.id}"
        return f"staff user {self.id}" if self.id else "Saleor"


class TransactionRefundRequested(_Event):
    action: Action
    transaction: TransactionRef
    granted_refund: _Id | None = Field(default=None, alias="grantedRefund")
    issuing_principal: IssuingPrincipal | None = Field(default=None, alias="issuingPrincipal")


class TransactionCancelationRequested(_Event):
    action: Action
    transaction: TransactionRef


class AppDeleted(_Event):
    """Saleor deleted the app (3.23+ delivers it to the deleted app itself): ``app`` is the one deleted."""

    app: _Id | None = None


WebhookPayload = (
    AppDeleted
    | PaymentGatewayInitializeSession
    | TransactionInitializeSession
    | TransactionProcessSession
    | TransactionRefundRequested
    | TransactionCancelationRequested
)
