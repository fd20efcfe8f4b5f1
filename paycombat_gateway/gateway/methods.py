"""PAYMENT_GATEWAY_INITIALIZE_SESSION: what the storefront can offer for this checkout."""

from __future__ import annotations

from typing import Any

from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.gateway.country import paycombat_country_code
from paycombat_gateway.gateway.errors import ErrorCode, PaymentError
from paycombat_gateway.paycombat.contract import KRW_BANKS, PAYIN_METHODS_BY_CURRENCY
from paycombat_gateway.saleor.payloads import PaymentGatewayInitializeSession, SourceObject
from paycombat_gateway.storage.models import PaycombatConfig

__all__ = ["allowed_methods", "gateway_initialize", "source_countries", "source_currency"]


def source_currency(source: SourceObject) -> str | None:
    if source.channel.currency_code:
        return source.channel.currency_code.upper()
    taxed = source.total_price if source.typename == "Checkout" else source.total_taxed
    return taxed.gross.currency.upper() if taxed and taxed.gross.currency else None


def source_countries(source: SourceObject) -> list[str | None]:
    return [
        source.billing_address.country_code if source.billing_address else None,
        source.shipping_address.country_code if source.shipping_address else None,
    ]


def allowed_methods(config: PaycombatConfig, currency: str) -> list[str]:
    offered = list(PAYIN_METHODS_BY_CURRENCY.get(currency, ()))
    if config.allowed_payin_methods:
        offered = [method for method in offered if method in config.allowed_payin_methods]
    return offered


def gateway_initialize(
    ctx: GatewayContext, installation_id: int, payload: PaymentGatewayInitializeSession
) -> dict[str, Any]:
    source = payload.source_object
    config = ctx.configs.for_channel(installation_id, source.channel.slug)
    try:
        if config is None:
            raise PaymentError(
                ErrorCode.CHANNEL_NOT_CONFIGURED,
                f"PayCombat is not configured for channel {source.channel.slug!r}.",
            )
        currency = source_currency(source)
        if currency is None or currency not in PAYIN_METHODS_BY_CURRENCY:
            raise PaymentError(
                ErrorCode.CURRENCY_NOT_SUPPORTED, f"PayCombat does not accept {currency or 'this currency'}."
            )
        methods = allowed_methods(config, currency)
        if not methods:
            raise PaymentError(
                ErrorCode.PAYIN_METHOD_NOT_AVAILABLE, f"No PayCombat payin method is enabled for {currency}."
            )
        try:
            country: str | None = paycombat_country_code(source_countries(source), currency)
        except PaymentError:
            country = None
    except PaymentError as exc:
        return {"data": exc.as_data()}
    return {
        "data": {
            "environment": config.environment,
            "currency": currency,
            "country_code": country,
            "payin_methods": methods,
            "krw_virtual_account": currency == "KRW",
            "banks": list(KRW_BANKS) if currency == "KRW" else [],
        }
    }
