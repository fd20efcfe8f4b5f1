"""TRANSACTION_INITIALIZE_SESSION: one PayCombat hosted checkout per Saleor ``idempotencyKey``.

The flow: find the channel's configuration; validate money, ``data`` and the country before calling
anyone; claim the idempotency key (only the claimant calls PayCombat; any other instance waits for
its checkout); create the payment request; optionally pre-select a payin method or open a KRW
virtual account; answer ``CHARGE_ACTION_REQUIRED`` with the checkout id as pspReference.

A coroutine: PayCombat is awaited on the async client, so a request waiting for PayCombat holds no
thread; the claim and the checkout (with its announcement to Saleor, in the same transaction) are
short database writes, run through ``gateway.blocking.in_thread`` (on SQLite on the loop itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any

from paycombat_gateway.gateway.answers import action_required, answer_from_state, failure
from paycombat_gateway.gateway.blocking import in_thread
from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.gateway.country import paycombat_country_code
from paycombat_gateway.gateway.errors import ErrorCode, PaymentError
from paycombat_gateway.gateway.methods import allowed_methods, source_countries
from paycombat_gateway.gateway.order_lines import OrderLines, SourceLine, build_order_lines
from paycombat_gateway.gateway.paycombat_errors import public_error
from paycombat_gateway.gateway.problems import note_channel_without_configuration
from paycombat_gateway.gateway.reporting import announce_checkout
from paycombat_gateway.gateway.results import SessionResult
from paycombat_gateway.gateway.settlement import SessionState
from paycombat_gateway.gateway.snapshots import SessionSnapshot, snapshot
from paycombat_gateway.gateway.storefront_data import InitializeData, parse_initialize_data
from paycombat_gateway.money import Money, MoneyError
from paycombat_gateway.outbound import PAYCOMBAT_IN_WEBHOOK
from paycombat_gateway.paycombat import errors
from paycombat_gateway.paycombat.client import AsyncPaycombatClient
from paycombat_gateway.paycombat.contract import KRW_BANKS, PAYIN_METHODS_BY_CURRENCY
from paycombat_gateway.paycombat.models import AdvancedRedirectUrl, OrderFee, OrderItem, PaymentRequest
from paycombat_gateway.saleor.payloads import TransactionInitializeSession
from paycombat_gateway.storage.models import PaycombatConfig, PaymentSession, utcnow
from paycombat_gateway.storage.sessions import (
    MERCHANT_REFERENCE_PREFIX,
    claim_payment_session,
    record_checkout,
)

__all__ = ["initialize_session"]

logger = logging.getLogger(__name__)
WAIT_FOR_OTHER_INSTANCE = 12.0  # seconds; inside Saleor's 18 s read timeout
# Pre-selecting a method or opening a virtual account costs one or two more PayCombat calls; skip them
# when creating the checkout alone took this long, so the answer still reaches Saleor in time.
PRESELECT_IF_WITHIN = 4.0  # seconds


def _validated(
    payload: TransactionInitializeSession, config: PaycombatConfig
) -> tuple[Money, InitializeData, str, OrderLines]:
    action = payload.action
    try:
        money = Money.of(action.amount, action.currency)
    except MoneyError as exc:
        raise PaymentError(
            ErrorCode.INVALID_AMOUNT, f"{action.amount} {action.currency} cannot be paid: {exc}."
        ) from None
    if money.amount <= 0:
        raise PaymentError(ErrorCode.INVALID_AMOUNT, "The amount to charge must be positive.")
    if money.currency not in PAYIN_METHODS_BY_CURRENCY:
        raise PaymentError(ErrorCode.CURRENCY_NOT_SUPPORTED, f"PayCombat does not accept {money.currency}.")
    data = parse_initialize_data(payload.data, default_return_url=config.redirect_url)
    if data.payin_method is not None and data.payin_method not in allowed_methods(config, money.currency):
        raise PaymentError(
            ErrorCode.PAYIN_METHOD_NOT_AVAILABLE,
            f"payin_method {data.payin_method!r} is not offered for {money.currency}.",
            field="payin_method",
        )
    if data.bank is not None and (money.currency != "KRW" or data.bank not in KRW_BANKS):
        raise PaymentError(
            ErrorCode.BANK_NOT_AVAILABLE, "bank must be one of the KRW virtual-account banks.", field="bank"
        )
    source = payload.source_object
    country = paycombat_country_code(source_countries(source), money.currency)
    lines = build_order_lines(
        money.amount,
        money.currency,
        [
            SourceLine(line.name, line.quantity, line.unit_price.gross.amount, line.total_price.gross.amount)
            for line in source.lines
        ],
        source_total=source.total,
        summary_name=f"{source.reference} ({source.channel.slug})",
    )
    return money, data, country, lines


def _payment_request(
    ctx: GatewayContext,
    payload: TransactionInitializeSession,
    config: PaycombatConfig,
    reference: str,
    money: Money,
    data: InitializeData,
    country: str,
    lines: OrderLines,
) -> PaymentRequest:
    urls = data.return_urls
    source = payload.source_object
    additional: dict[str, Any] = {
        "saleor_transaction_id": payload.transaction.id,
        "saleor_source": f"{source.typename}:{source.id}",
        "saleor_channel": source.channel.slug,
    }
    if source.typename == "Checkout" and source.email:
        additional["customer_email"] = source.email
    if source.billing_address and (source.billing_address.first_name or source.billing_address.last_name):
        additional["customer_name"] = " ".join(
            part for part in (source.billing_address.first_name, source.billing_address.last_name) if part
        )
    return PaymentRequest(
        amount=money.amount,
        currency=money.currency,
        country_code=country,
        description=reference,
        redirect_url=urls.redirect_url,
        advanced_redirect_url=AdvancedRedirectUrl(
            completed_url=urls.completed_url or urls.redirect_url,
            cancelled_url=urls.cancelled_url or urls.redirect_url,
            expired_url=urls.expired_url or urls.redirect_url,
            failed_url=urls.failed_url or urls.redirect_url,
        )
        if urls.has_outcome_urls
        else None,
        webhook_url=ctx.paycombat_webhook_url(config.id),
        additional_info=additional,
        order_items=[
            OrderItem(product_name=i.product_name, quantity=i.quantity, unit_price=i.unit_price)
            for i in lines.items
        ],
        order_fees=[OrderFee(fee_name=f.fee_name, fee_amount=f.fee_amount) for f in lines.fees],
    )


def _current(ctx: GatewayContext, session_id: int) -> SessionSnapshot | None:
    with ctx.database.session(readonly=True) as session:
        row = session.get(PaymentSession, session_id)
        return snapshot(row) if row is not None else None


def _record_error(ctx: GatewayContext, session_id: int, message: str) -> None:
    with ctx.database.session() as session:
        stored = session.get(PaymentSession, session_id)
        if stored is not None:
            stored.last_error = message


async def _await_other_instance(ctx: GatewayContext, session_id: int, environment: str) -> SessionResult:
    """Another request holds this idempotency key: answer with its checkout once it has one."""
    deadline = time.monotonic() + WAIT_FOR_OTHER_INSTANCE
    while True:
        current = await in_thread(_current, ctx, session_id)
        if current is None:
            break
        if current.checkout_id:  # the same answer a transactionProcess would get now
            return answer_from_state(current, environment)
        if current.last_error:
            return failure(PaymentError(ErrorCode.PAYCOMBAT_UNAVAILABLE, current.last_error), current.amount)
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    return failure(
        PaymentError(
            ErrorCode.PAYMENT_IN_PROGRESS,
            "This payment is still being created. Retry with the same idempotency key.",
        )
    )


async def _preselect(
    client: AsyncPaycombatClient, data: InitializeData, token: str
) -> tuple[str | None, dict[str, Any] | None, list[str]]:
    """Apply the storefront's optional choices; a failure leaves the choice to the hosted page."""
    method: str | None = None
    account: dict[str, Any] | None = None
    warnings: list[str] = []
    if data.payin_method:
        try:
            chosen = await client.create_new_checkout(token, data.payin_method)
            method = chosen.payin_method_name or data.payin_method
        except errors.PaycombatError:
            warnings.append(
                "The payin method could not be pre-selected; the shopper chooses it on PayCombat's page."
            )
    if data.bank:
        try:
            await client.create_virtual_account_krw(token, data.bank)
            info = await client.get_va_bank_information_krw(token)
            method = data.bank
            account = {
                "bank_name": info.bank_name or data.bank,
                "account_number": info.account_number,
                "account_holder": info.account_holder,
                "expires_at": info.expire_at,
            }
        except errors.PaycombatError:
            warnings.append(
                "The virtual account could not be opened; the shopper chooses a bank on PayCombat's page."
            )
    return method, account, warnings


async def initialize_session(
    ctx: GatewayContext, installation_id: int, payload: TransactionInitializeSession
) -> SessionResult:
    source = payload.source_object
    config = await ctx.configs.for_channel_async(installation_id, source.channel.slug)
    if config is None:
        await in_thread(note_channel_without_configuration, ctx, installation_id, source.channel.slug)
        return failure(
            PaymentError(
                ErrorCode.CHANNEL_NOT_CONFIGURED,
                f"PayCombat is not configured for channel {source.channel.slug!r}.",
            )
        )
    try:
        money, data, country, lines = _validated(payload, config)
    except (PaymentError, MoneyError) as exc:
        error = exc if isinstance(exc, PaymentError) else PaymentError(ErrorCode.INVALID_AMOUNT, str(exc))
        return failure(error)
    reference = MERCHANT_REFERENCE_PREFIX + (payload.transaction.token or uuid.uuid4().hex)
    claim = await in_thread(
        claim_payment_session,
        ctx.database,
        installation_id=installation_id,
        idempotency_key=payload.idempotency_key,
        config_id=config.id,
        saleor_transaction_id=payload.transaction.id,
        saleor_transaction_token=payload.transaction.token,
        merchant_reference=reference,
        source_type=source.typename,
        source_id=source.id,
        channel_slug=source.channel.slug,
        currency=money.currency,
        amount=money.amount,
        action_type=payload.action.action_type,
    )
    if not claim.must_create:
        return await _await_other_instance(ctx, claim.session_id, config.environment)
    client = ctx.paycombat.async_for_config(config)
    request = _payment_request(ctx, payload, config, claim.merchant_reference, money, data, country, lines)
    started = time.monotonic()
    try:
        checkout = await client.create_payment_request(request)
    except errors.PaycombatError as exc:
        logger.warning("create payment request failed: %s", exc, extra={"ctx_config_id": config.id})
        error = public_error(exc, "creating the hosted checkout")
        await in_thread(_record_error, ctx, claim.session_id, error.message)
        return failure(error, money.amount)
    method, account = None, None
    warnings = ["PayCombat answered slowly; the shopper chooses the method on PayCombat's page."]
    if time.monotonic() - started < PRESELECT_IF_WITHIN:
        # Creating and pre-selecting share one deadline, so Saleor's answer never waits past it.
        left = PAYCOMBAT_IN_WEBHOOK.total - (time.monotonic() - started)
        with contextlib.suppress(TimeoutError):  # a slow PayCombat: the page offers the choice
            async with asyncio.timeout(left):
                method, account, warnings = await _preselect(client, data, checkout.checkout_token or "")
    recorded: dict[str, Any] = {
        "checkout_id": checkout.id,
        "checkout_token": checkout.checkout_token,
        "checkout_url": checkout.checkout_url,
        "expires_at": checkout.expire_at,
        "payin_method_name": method,
        "virtual_account": account,
        "last_error": None,
    }
    announcement = announce_checkout(
        ctx,
        installation_id,
        payment_session_id=claim.session_id,
        currency=money.currency,
        reference=checkout.id or claim.merchant_reference,
        method=method,
        virtual_account=account,
    )  # committed with the checkout, in the same transaction
    state = await in_thread(record_checkout, ctx.database, claim.session_id, then=announcement, **recorded)
    if state is None:  # deleted under our feet: report it rather than answer with a checkout we lost
        return failure(
            PaymentError(ErrorCode.PAYMENT_NOT_FOUND, "The payment record disappeared."), money.amount
        )
    started_checkout = SessionSnapshot(
        id=claim.session_id,
        config_id=config.id,
        state=SessionState(state),
        merchant_reference=claim.merchant_reference,
        currency=money.currency,
        amount=money.amount,
        payin_id=None,
        paid_amount=None,
        updated_at=utcnow(),
        **recorded,
    )
    return action_required(started_checkout, config.environment, warnings)
