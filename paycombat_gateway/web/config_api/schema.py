"""The configuration API's GraphQL schema.

Secrets are write-only: inputs accept them, no type can return them (only the last four characters).
Every mutation validates first and writes in one transaction, so an input error leaves nothing half
saved. Resolvers are async: PayCombat and Saleor are awaited on the event loop, each by its deadline\n(``outbound``); only database work goes to a thread (``gateway.blocking.in_thread``).

A query is refused before anything runs when it has more aliases, tokens or depth than the page ever
needs (``QUERY_LIMITS``): parsing, validating and executing happen on the event loop, so an alias bomb
(``a1: configurations … a3000: configurations``) would otherwise stall every request of the process.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar

import strawberry
from graphql import GraphQLError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, Info

from paycombat_gateway.gateway import channel_choice
from paycombat_gateway.gateway.activity import (
    STATE_WORDS,
    OrderLookup,
    format_amount,
    payin_method_name,
    payment_state,
)
from paycombat_gateway.gateway.api_urls import NOT_ALLOWED_MESSAGE, api_url_problem
from paycombat_gateway.gateway.blocking import in_thread
from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.gateway.key_check import KeyCheck, check_keys_async
from paycombat_gateway.outbound import PAYCOMBAT_TEST_CONNECTION
from paycombat_gateway.paycombat.client import AsyncPaycombatClient
from paycombat_gateway.paycombat.contract import PAYIN_METHODS_BY_CURRENCY
from paycombat_gateway.saleor.client import SaleorChannel, TransactionOrder
from paycombat_gateway.storage import configs, inbox, outbox, sessions
from paycombat_gateway.storage.db import StorageUnavailable
from paycombat_gateway.storage.models import Installation, OutboxReport, PaycombatConfig, PaymentSession
from paycombat_gateway.web.config_api.auth import DashboardIdentity
from paycombat_gateway.web.config_api.refunds import RefundMutation, RefundQuery
from paycombat_gateway.web.config_api.validation import KNOWN_METHODS, FieldProblem, check_configuration

__all__ = ["schema"]

logger = logging.getLogger(__name__)
NEW_URL_NEEDS_KEYS = (
    "Saved keys are only sent to the API URL they were saved with: to change it, enter the X-token and "
    "the signature key again."
)
TEST_FAILED = "PayCombat could not be reached or refused these keys."
KEYS_FOR_ANOTHER_URL = (
    "Saved keys are only sent to the API URL they were saved with: to test another one, enter the "
    "X-token and the signature key."
)


def _ctx(info: Info) -> GatewayContext:
    context: GatewayContext = info.context["gateway"]
    return context


def _identity(info: Info) -> DashboardIdentity:
    identity: DashboardIdentity = info.context["identity"]
    return identity


@strawberry.type
class FieldError:
    field: str
    code: str
    message: str


@strawberry.type
class ValidationErrors:
    errors: list[FieldError]


@strawberry.type
class Configuration:
    id: strawberry.ID
    name: str
    environment: str
    api_url: str | None
    effective_api_url: str
    x_token_hint: str
    signature_key_hint: str
    x_token_length: int
    signature_key_length: int
    redirect_url: str | None
    allowed_payin_methods: list[str] | None
    allow_unsigned_webhooks: bool
    channels: list[str]
    webhook_url: str


ConfigurationResult = Annotated[Configuration | ValidationErrors, strawberry.union("ConfigurationResult")]


@strawberry.type
class Transaction:
    id: int
    saleor_transaction_id: str
    checkout_id: str | None = strawberry.field(description="The PayCombat checkout.")
    state: str
    state_text: str = strawberry.field(description="The state in words.")
    amount: Decimal
    amount_text: str = strawberry.field(description="The amount with the currency's own decimals.")
    paid_amount: Decimal | None
    paid_amount_text: str | None
    currency: str
    amount_mismatch: bool
    channel: str
    created_at: datetime
    payin_method: str | None = strawberry.field(description="PayCombat's code (or, for KRW, the bank).")
    payin_method_name: str | None
    saleor_source_type: str = strawberry.field(
        description="Checkout or Order: what the payment started from."
    )
    saleor_source_id: str
    order_id: str | None = strawberry.field(description="The Saleor order, once there is one.")
    order_number: str | None
    held_reason: str | None = strawberry.field(
        default=None,
        description="Why the payment is held for review (state `held`): PayCombat stated a success that "
        "proves no payment, in its own words. Nothing was reported to Saleor.",
    )
    settled_by: str | None = strawberry.field(
        default=None,
        description="Who first told the app the outcome reported to Saleor: webhook, reconciliation "
        "(the app looked the payment up at PayCombat because no webhook came) or process.",
    )


@strawberry.type
class PayinMethod:
    code: str
    name: str
    currencies: list[str]


@strawberry.type
class SaleorChannelInfo:
    slug: str
    name: str
    currency: str
    is_active: bool
    configuration_id: str | None = strawberry.field(description="The configuration this channel pays with.")
    configuration_name: str | None
    currency_methods: list[str] = strawberry.field(description="What PayCombat takes in this currency.")
    warning: str | None = strawberry.field(description="Why this channel would not offer PayCombat.")


@strawberry.type
class ChannelList:
    channels: list[SaleorChannelInfo]
    error: str | None = strawberry.field(description="Set when the Saleor could not be asked.")


@strawberry.type
class EventReport:
    id: int
    event_type: str
    psp_reference: str
    amount: Decimal | None
    state: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime


@strawberry.type
class Delivery:
    id: int
    received_at: datetime
    kind: str
    payin_id: str | None
    note: str | None
    duplicates: int


@strawberry.type
class ConnectionTest:
    ok: bool
    message: str


@strawberry.type
class ActionOutcome:
    ok: bool
    message: str


@strawberry.input
class ConfigurationInput:
    name: str
    environment: str = "sandbox"
    x_token: str
    signature_key: str
    api_url: str | None = None
    redirect_url: str | None = None
    allowed_payin_methods: list[str] | None = None
    allow_unsigned_webhooks: bool = False
    channels: list[str] = strawberry.field(default_factory=list)
    move_channels: bool = strawberry.field(
        default=False, description="Take channels another configuration holds (refused otherwise)."
    )


@strawberry.input
class ConfigurationUpdate:
    name: str | None = None
    environment: str | None = None
    x_token: str | None = None
    signature_key: str | None = None
    api_url: str | None = None
    redirect_url: str | None = None
    allowed_payin_methods: list[str] | None = None
    allow_unsigned_webhooks: bool | None = None
    channels: list[str] | None = None
    move_channels: bool = strawberry.field(
        default=False, description="Take channels another configuration holds (refused otherwise)."
    )


T = TypeVar("T")


async def _read(info: Info, query: Callable[[Session, DashboardIdentity, GatewayContext], T]) -> T:
    """Run a read-only ``query`` for the Dashboard's installation, off the event loop."""
    ctx, identity = _ctx(info), _identity(info)

    def run() -> T:
        with ctx.database.session(readonly=True) as session:
            return query(session, identity, ctx)

    return await in_thread(run)


async def _save(
    info: Info, work: Callable[[Session, DashboardIdentity, GatewayContext], ConfigurationResult]
) -> ConfigurationResult:
    """Run a configuration write in one transaction, off the event loop; a taken name is a field error.
    This process's configuration cache is dropped afterwards so the change applies at once."""
    ctx, identity = _ctx(info), _identity(info)

    def run() -> ConfigurationResult:
        try:
            with ctx.database.session() as session:
                return work(session, identity, ctx)
        except IntegrityError:
            return _errors([FieldProblem("name", "UNIQUE", "Another configuration has this name.")])

    try:
        return await in_thread(run)
    finally:
        ctx.configs.invalidate()


def _errors(problems: list[FieldProblem]) -> ValidationErrors:
    return ValidationErrors(
        errors=[FieldError(field=p.field, code=p.code, message=p.message) for p in problems]
    )


def _problems(input: ConfigurationInput | ConfigurationUpdate, *, creating: bool) -> list[FieldProblem]:
    return check_configuration(
        name=input.name, environment=input.environment, x_token=input.x_token, signature_key=input.signature_key,
        api_url=input.api_url, redirect_url=input.redirect_url, allowed_payin_methods=input.allowed_payin_methods,
        channels=input.channels, creating=creating,
    )  # fmt: skip


async def _api_url_problems(info: Info, api_url: str | None) -> list[FieldProblem]:
    """The production rules for where keys may be sent (``gateway.api_urls``); resolving is awaited on
    the loop, by its deadline."""
    url = _blank_to_none(api_url)
    if url is None:
        return []
    problem = await api_url_problem(_ctx(info).settings, url)
    if problem is None:
        return []
    logger.warning("refused a configuration's API URL %s: %s", url, problem)
    return [FieldProblem("apiUrl", "NOT_ALLOWED", NOT_ALLOWED_MESSAGE)]


def _present(ctx: GatewayContext, session: Any, config: PaycombatConfig) -> Configuration:
    keys = ctx.paycombat.credentials_for(config)  # only the lengths leave: two hints that end alike differ
    return Configuration(
        id=strawberry.ID(config.id),
        name=config.name,
        environment=config.environment,
        api_url=config.api_url,
        effective_api_url=ctx.paycombat.base_url_for(config),
        x_token_hint=f"••••{config.x_token_hint}",
        signature_key_hint=f"••••{config.signature_key_hint}",
        x_token_length=len(keys.x_token),
        signature_key_length=len(keys.signature_key),
        redirect_url=config.redirect_url,
        allowed_payin_methods=config.allowed_payin_methods,
        allow_unsigned_webhooks=config.allow_unsigned_webhooks,
        channels=configs.mapped_channels(session, config.id),
        webhook_url=ctx.paycombat_webhook_url(config.id),
    )


def _owned(session: Any, identity: DashboardIdentity, config_id: str) -> PaycombatConfig | None:
    config = configs.get_config(session, config_id)
    return config if config is not None and config.installation_id == identity.installation_id else None


def _blank_to_none(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


async def _channels_known(
    info: Info, config_id: str | None, slugs: list[str] | None
) -> list[SaleorChannel] | ValidationErrors | None:
    """The Saleor's channels when ``slugs`` adds any the configuration does not hold yet (None when it
    adds none), read before the write transaction opens; a Saleor that cannot be asked is a field error."""
    ctx, identity = _ctx(info), _identity(info)

    def installation_if_new() -> Installation | None:
        with ctx.database.session(readonly=True) as session:
            holders = channel_choice.channel_holders(session, identity.installation_id)
            if not channel_choice.new_slugs(holders, config_id, slugs or []):
                return None
            installation = session.get(Installation, identity.installation_id)
            assert installation is not None  # DashboardAuth found it
            session.expunge(installation)
            return installation

    installation = await in_thread(installation_if_new)
    if installation is None:
        return None
    try:
        return await channel_choice.saleor_channels_async(ctx, installation)
    except channel_choice.ChannelsUnavailable as exc:
        return _errors(
            [FieldProblem("channels", "UNAVAILABLE", f"{exc.message} Nothing was saved; try again.")]
        )


def _channel_problems(
    session: Session, identity: DashboardIdentity, config_id: str | None, slugs: list[str],
    known: list[SaleorChannel] | None, move: bool,
) -> list[FieldProblem]:  # fmt: skip
    holders = channel_choice.channel_holders(session, identity.installation_id)
    return [
        FieldProblem("channels", problem.code, problem.message)
        for problem in channel_choice.check_channel_choice(holders, known, config_id, slugs, move=move)
    ]


def _channel_info(
    channel: SaleorChannel, holders: dict[str, channel_choice.ChannelHolder], held: dict[str, PaycombatConfig]
) -> SaleorChannelInfo:
    holder = holders.get(channel.slug)
    return SaleorChannelInfo(
        slug=channel.slug, name=channel.name, currency=channel.currency, is_active=channel.is_active,
        configuration_id=holder.config_id if holder else None,
        configuration_name=holder.config_name if holder else None,
        currency_methods=list(PAYIN_METHODS_BY_CURRENCY.get(channel.currency, ())),
        warning=channel_choice.currency_warning(channel, held.get(holder.config_id) if holder else None),
    )  # fmt: skip


def _transaction(row: PaymentSession, order: TransactionOrder | None) -> Transaction:
    paid = row.paid_amount
    state = payment_state(row)
    return Transaction(
        id=row.id, saleor_transaction_id=row.saleor_transaction_id, checkout_id=row.checkout_id,
        state=state, state_text=STATE_WORDS.get(state, state.replace("_", " ")), held_reason=row.held_reason,
        amount=row.amount, amount_text=format_amount(row.amount, row.currency), paid_amount=paid,
        paid_amount_text=format_amount(paid, row.currency) if paid is not None else None,
        currency=row.currency, amount_mismatch=row.amount_mismatch, channel=row.channel_slug,
        created_at=row.created_at, payin_method=row.payin_method_name,
        payin_method_name=payin_method_name(row.payin_method_name),
        saleor_source_type=row.source_type, saleor_source_id=row.source_id,
        # an order-sourced payment names its order even when Saleor cannot be asked for the number
        order_id=order.order_id if order else (row.source_id if row.source_type == "Order" else None),
        order_number=order.order_number if order else None, settled_by=row.settled_by,
    )  # fmt: skip


@strawberry.type
class Query:
    @strawberry.field(description="Every PayCombat configuration of this Saleor, secrets masked.")
    async def configurations(self, info: Info) -> list[Configuration]:
        return await _read(
            info,
            lambda session, identity, ctx: [
                _present(ctx, session, config)
                for config in configs.list_configs(session, identity.installation_id)
            ],
        )

    @strawberry.field(description="Payin methods the app knows, for the allowed-methods setting.")
    def known_payin_methods(self) -> list[str]:
        return KNOWN_METHODS

    @strawberry.field(description="Payin methods with their names and the currencies they take.")
    def payin_methods(self) -> list[PayinMethod]:
        return [
            PayinMethod(
                code=code,
                name=payin_method_name(code) or code,
                currencies=[c for c, methods in PAYIN_METHODS_BY_CURRENCY.items() if code in methods],
            )
            for code in KNOWN_METHODS
        ]

    @strawberry.field(description="This Saleor's channels (read with the app token) and who holds each.")
    async def saleor_channels(self, info: Info) -> ChannelList:
        ctx, identity = _ctx(info), _identity(info)

        def read() -> tuple[
            dict[str, channel_choice.ChannelHolder], dict[str, PaycombatConfig], Installation
        ]:
            with ctx.database.session(readonly=True) as session:
                holders = channel_choice.channel_holders(session, identity.installation_id)
                held = {
                    config.id: config for config in configs.list_configs(session, identity.installation_id)
                }
                installation = session.get(Installation, identity.installation_id)
                assert installation is not None  # DashboardAuth found it
                session.expunge(installation)
                for config in held.values():
                    session.expunge(config)
            return holders, held, installation

        holders, held, installation = await in_thread(read)
        try:
            channels = await channel_choice.saleor_channels_async(ctx, installation)
        except channel_choice.ChannelsUnavailable as exc:
            return ChannelList(channels=[], error=exc.message)
        return ChannelList(channels=[_channel_info(c, holders, held) for c in channels], error=None)

    @strawberry.field(description="Recent payments: the order (or checkout) each belongs to, in words.")
    async def recent_transactions(self, info: Info, limit: int = 20) -> list[Transaction]:
        ctx, identity = _ctx(info), _identity(info)
        lookup: OrderLookup = info.context["orders"]

        def query() -> tuple[list[PaymentSession], Installation]:
            with ctx.database.session(readonly=True) as session:
                rows = sessions.recent_sessions(session, identity.installation_id, min(max(limit, 1), 100))
                installation = session.get(Installation, identity.installation_id)
                assert installation is not None  # DashboardAuth found it
                session.expunge_all()
            return list(rows), installation

        rows, installation = await in_thread(query)
        orders = await lookup.orders(ctx, installation, rows)
        return [_transaction(row, orders.get(row.saleor_transaction_id)) for row in rows]

    @strawberry.field(description="Reports to Saleor that are failed or still waiting.")
    async def reports_needing_attention(self, info: Info) -> list[EventReport]:
        def query(session: Session, identity: DashboardIdentity, ctx: GatewayContext) -> list[EventReport]:
            rows = outbox.reports_by_state(
                session, identity.installation_id, (outbox.REPORT_PARKED, outbox.REPORT_OWED)
            )
            return [
                EventReport(id=r.id, event_type=r.event_type, psp_reference=r.psp_reference, amount=r.amount,
                            state=r.state, attempts=r.attempts, last_error=r.last_error,
                            next_attempt_at=r.next_attempt_at)
                for r in rows
            ]  # fmt: skip

        return await _read(info, query)

    @strawberry.field(description="PayCombat deliveries no payment of this app matched: kept, never dropped.")
    async def unmatched_deliveries(self, info: Info) -> list[Delivery]:
        def query(session: Session, identity: DashboardIdentity, ctx: GatewayContext) -> list[Delivery]:
            ids = [config.id for config in configs.list_configs(session, identity.installation_id)]
            return [
                Delivery(id=d.id, received_at=d.received_at, kind=d.kind, payin_id=d.payin_id, note=d.note,
                         duplicates=d.duplicates)
                for d in inbox.deliveries_by_state(session, ids, "unmatched")
            ]  # fmt: skip

        return await _read(info, query)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Store a PayCombat key pair (encrypted) and map channels to it.")
    async def create_configuration(self, info: Info, input: ConfigurationInput) -> ConfigurationResult:
        problems = _problems(input, creating=True) or await _api_url_problems(info, input.api_url)
        if problems:
            return _errors(problems)
        known = await _channels_known(info, None, input.channels)
        if isinstance(known, ValidationErrors):
            return known

        def save(session: Session, identity: DashboardIdentity, ctx: GatewayContext) -> ConfigurationResult:
            refused = _channel_problems(session, identity, None, input.channels, known, input.move_channels)
            if refused:
                return _errors(refused)
            config = configs.create_config(
                session, ctx.box, installation_id=identity.installation_id, name=input.name.strip(),
                x_token=input.x_token.strip(), signature_key=input.signature_key.strip(),
                environment=input.environment, api_url=_blank_to_none(input.api_url),
                redirect_url=_blank_to_none(input.redirect_url),
                allowed_payin_methods=input.allowed_payin_methods or None,
                allow_unsigned_webhooks=input.allow_unsigned_webhooks,
            )  # fmt: skip
            configs.map_channels(session, identity.installation_id, config.id, input.channels)
            return _present(ctx, session, config)

        return await _save(info, save)

    @strawberry.mutation(description="Change a configuration; blank secrets keep the stored ones.")
    async def update_configuration(
        self, info: Info, id: strawberry.ID, input: ConfigurationUpdate
    ) -> ConfigurationResult:
        problems = _problems(input, creating=False) or await _api_url_problems(info, input.api_url)
        if problems:
            return _errors(problems)
        known = await _channels_known(info, str(id), input.channels)
        if isinstance(known, ValidationErrors):
            return known

        def save(session: Session, identity: DashboardIdentity, ctx: GatewayContext) -> ConfigurationResult:
            config = _owned(session, identity, str(id))
            if config is None:
                return _errors([FieldProblem("id", "NOT_FOUND", "No such configuration.")])
            if input.channels is not None:
                refused = _channel_problems(
                    session, identity, config.id, input.channels, known, input.move_channels
                )
                if refused:
                    return _errors(refused)
            fields: dict[str, object] = {}
            if input.name is not None:
                fields["name"] = input.name.strip()
            if input.environment is not None:
                fields["environment"] = input.environment
            if input.api_url is not None:
                fields["api_url"] = _blank_to_none(input.api_url)
            if input.redirect_url is not None:
                fields["redirect_url"] = _blank_to_none(input.redirect_url)
            if input.allowed_payin_methods is not None:
                fields["allowed_payin_methods"] = input.allowed_payin_methods or None
            if input.allow_unsigned_webhooks is not None:
                fields["allow_unsigned_webhooks"] = input.allow_unsigned_webhooks
            try:
                configs.update_config(
                    session, ctx.box, config, x_token=_blank_to_none(input.x_token),
                    signature_key=_blank_to_none(input.signature_key), **fields,
                )  # fmt: skip
            except configs.SecretsRequired:
                return _errors([FieldProblem("apiUrl", "SECRETS_REQUIRED", NEW_URL_NEEDS_KEYS)])
            if input.channels is not None:
                for slug in set(configs.mapped_channels(session, config.id)) - set(input.channels):
                    configs.unmap_channel(session, identity.installation_id, slug)
                configs.map_channels(session, identity.installation_id, config.id, input.channels)
            session.flush()
            return _present(ctx, session, config)

        return await _save(info, save)

    @strawberry.mutation(
        description="Delete a configuration (disable it, keys wiped, when payments name it); its channels "
        "stop offering PayCombat. Refused while a payment on it is open and unexpired."
    )
    async def delete_configuration(self, info: Info, id: strawberry.ID) -> ActionOutcome:
        ctx, identity = _ctx(info), _identity(info)

        def delete() -> ActionOutcome:
            with ctx.database.session() as session:
                config = _owned(session, identity, str(id))
                if config is None:
                    return ActionOutcome(ok=False, message="No such configuration.")
                try:
                    outcome, _ = configs.remove_config(session, config)
                except configs.OpenPaymentsBlockRemoval as refusal:
                    return ActionOutcome(ok=False, message=f"Not removed: {refusal}.")
                if outcome == "disabled":  # payments name it: the row stays for the books, the keys go
                    return ActionOutcome(
                        ok=True, message="Removed; its payments are kept, its keys are wiped."
                    )
                return ActionOutcome(ok=True, message="Deleted.")

        try:
            return await in_thread(delete)
        finally:
            ctx.configs.invalidate()

    @strawberry.mutation(
        description="Make a real signed call to PayCombat with these keys and say whether they work."
    )
    async def test_connection(
        self, info: Info, id: strawberry.ID | None = None, x_token: str | None = None,
        signature_key: str | None = None, api_url: str | None = None,
    ) -> ConnectionTest:  # fmt: skip
        ctx, identity = _ctx(info), _identity(info)

        def keys() -> ConnectionTest | tuple[str, str, str | None]:
            """The keys and URL to test (stored ones filled in from the database), or why not."""
            token, key, base = (x_token or "").strip(), (signature_key or "").strip(), _blank_to_none(api_url)
            if id is not None:
                with ctx.database.session() as session:
                    config = _owned(session, identity, str(id))
                    if config is None:
                        return ConnectionTest(ok=False, message="No such configuration.")
                    if base is not None and not configs.same_api_url(base, config.api_url):
                        if not (token and key):  # stored keys go only where they were saved for
                            return ConnectionTest(ok=False, message=KEYS_FOR_ANOTHER_URL)
                    else:
                        stored = configs.credentials(ctx.box, config)
                        token, key, base = (
                            token or stored.x_token,
                            key or stored.signature_key,
                            config.api_url,
                        )
            return token, key, base

        found = await in_thread(keys)
        if isinstance(found, ConnectionTest):
            return found
        token, key, base = found
        if not token or not key:
            return ConnectionTest(ok=False, message="Enter the X-token and the signature key first.")
        url = base or ctx.settings.paycombat_api_url
        problem = await api_url_problem(ctx.settings, url) if base is not None else None
        if problem is not None:
            logger.warning("connection test refused for %s: %s", url, problem)
            return ConnectionTest(ok=False, message=NOT_ALLOWED_MESSAGE)
        return await _probe(token, key, url)

    @strawberry.mutation(description="Send a failed or waiting report to Saleor again now.")
    async def retry_report(self, info: Info, id: int) -> ActionOutcome:
        ctx, identity = _ctx(info), _identity(info)

        def retry() -> ActionOutcome:
            with ctx.database.session() as session:
                report = session.get(OutboxReport, id)
                if report is None or report.installation_id != identity.installation_id:
                    return ActionOutcome(ok=False, message="No such report.")
                if outbox.retry_report(session, id) is None:
                    return ActionOutcome(ok=False, message="Saleor already has this report.")
            info.context["notify_outbox"]()
            return ActionOutcome(ok=True, message="Queued; it is sent within seconds.")

        return await in_thread(retry)


async def _probe(token: str, key: str, url: str) -> ConnectionTest:
    """The keys checked the way the problems check does (``gateway.key_check``), awaited on the event
    loop by ``outbound.PAYCOMBAT_TEST_CONNECTION``, so a tarpit at ``url`` costs this request its
    deadline and nobody else anything. One answer for every failure: the page must not tell open,
    closed and PayCombat-like ports apart."""
    client = AsyncPaycombatClient(token, key, url, deadline=PAYCOMBAT_TEST_CONNECTION, retries=0)
    try:
        if await check_keys_async(client) is not KeyCheck.ACCEPTED:
            return ConnectionTest(ok=False, message=TEST_FAILED)
    finally:
        await client.aclose()
    return ConnectionTest(ok=True, message="The keys work: PayCombat accepted the signed request.")


# The page's largest document has about 60 tokens, one alias and a depth of 3: ample headroom, no bombs.
QUERY_LIMITS = {"aliases": 15, "tokens": 1500, "depth": 8}


def _is_internal(error: GraphQLError) -> bool:
    """Mask what a bug or the database raised (its text can carry SQL); keep GraphQL's own errors
    (a bad query, or a variable's value graphql-core refused, which arrives wrapping a GraphQLError) and a
    storage outage, whose message is meant for the merchant."""
    original = error.original_error
    return original is not None and not isinstance(original, StorageUnavailable | GraphQLError)


# What kind of mistake a refused request made, by the fixed opening graphql-core and strawberry give each
# message. Only the kind is logged: the rest of a message echoes what the caller sent (a key typed as a
# value, quoted or bare), and that must never reach the log.
_REFUSAL_KINDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), kind)
    for pattern, kind in (
        (r"^Syntax Error", "syntax error"),
        (r"^Variable ", "invalid variable"),
        (r"cannot represent", "invalid value"),
        (r"^Expected (value of )?type", "invalid value"),
        (r"^Cannot query field", "unknown field"),
        (r"^Unknown argument", "unknown argument"),
        (r"^Unknown type", "unknown type"),
        (r"^Unknown operation", "unknown operation"),
        (r"^Must provide operation name", "operation name missing"),
        (r"required type .* was not provided", "argument missing"),
        (r"selection of subfields", "bad selection"),
        (r"exceeds maximum|[Mm]aximum .* exceeded|Number of", "query too large"),
    )
)


def _refusal_kind(message: str) -> str:
    return next((kind for pattern, kind in _REFUSAL_KINDS if pattern.search(message)), "invalid request")


def _where(error: GraphQLError) -> str:
    spots = ", ".join(f"{spot.line}:{spot.column}" for spot in error.locations or ())
    return f" at {spots}" if spots else ""


class ConfigurationSchema(strawberry.Schema):
    """Logs a failed request by its operation name and what kind of failure it was: never the query
    text, the variables, or a refusal's message (graphql-core echoes the offending value in it, quoted or
    bare, and a key typed into the page would land in the log). An internal error keeps its traceback; a
    database outage is a warning."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        operation = (execution_context.operation_name if execution_context else None) or "anonymous"
        for error in errors:
            original = error.original_error
            if isinstance(original, StorageUnavailable):
                logger.warning("GraphQL %s failed: the database is not answering", operation)
            elif original is not None and not isinstance(original, GraphQLError):
                logger.error("GraphQL %s failed: %s", operation, type(original).__name__, exc_info=original)
            else:  # the request itself is wrong (a refused variable wraps a GraphQLError, whose traceback
                # would carry the value): say what kind of wrong and where, not what it held
                logger.warning(
                    "GraphQL %s refused: %s%s", operation, _refusal_kind(error.message), _where(error)
                )


schema = ConfigurationSchema(
    query=merge_types("Query", (Query, RefundQuery)),
    mutation=merge_types("Mutation", (Mutation, RefundMutation)),
    extensions=[
        lambda: MaxTokensLimiter(max_token_count=QUERY_LIMITS["tokens"]),
        lambda: MaxAliasesLimiter(max_alias_count=QUERY_LIMITS["aliases"]),
        lambda: QueryDepthLimiter(max_depth=QUERY_LIMITS["depth"]),
        lambda: MaskErrors(
            should_mask_error=_is_internal,
            error_message="Unexpected error in the app; its log has the details.",
        ),
    ],
)
