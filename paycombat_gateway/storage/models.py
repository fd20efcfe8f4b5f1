"""The tables. Amounts are ``Numeric`` (read back as ``Decimal``, refused when not storable exactly);
times are timezone-aware UTC."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from paycombat_gateway.money import AMOUNT_LIMIT, MoneyError

__all__ = [
    "Base",
    "ChannelMapping",
    "Installation",
    "OutboxReport",
    "PaycombatConfig",
    "PaycombatDelivery",
    "PaymentSession",
    "RefundOwed",
    "UnconfiguredChannelAttempt",
    "utcnow",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Stores UTC and always returns aware datetimes (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_STORED_STEP = Decimal("0.0001")  # the scale of the amount columns


class ExactAmount(TypeDecorator[Decimal]):
    """``NUMERIC(20, 4)`` that refuses an amount it would not give back unchanged.

    SQLite has no decimal type, so SQLAlchemy keeps the value as a double there, exact to 15
    significant digits: a larger or finer amount would be read back altered. Amounts are checked where
    they enter (``money.quantize``); this keeps any other path from storing one silently changed. The
    refusal is a ``MoneyError``: raised as it is by ``Database.write_single``, wrapped in SQLAlchemy's
    ``StatementError`` when an ORM session flushes.
    """

    impl = Numeric(20, 4, asdecimal=True)
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | None, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            value = Decimal(value)
        if not isinstance(value, Decimal) or not value.is_finite() or abs(value) >= AMOUNT_LIMIT:
            raise MoneyError(f"{value!r} cannot be stored exactly as an amount")
        if value != value.quantize(_STORED_STEP):
            raise MoneyError(f"{value} has more decimal places than an amount column keeps")
        return value


MONEY = ExactAmount()

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Installation(Base):
    """One Saleor instance that installed the app, keyed by its API URL."""

    __tablename__ = "installations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    saleor_api_url: Mapped[str] = mapped_column(String(512), unique=True)
    app_id: Mapped[str] = mapped_column(String(256))
    token_encrypted: Mapped[str] = mapped_column(Text)
    jwks: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    # Set when Saleor said the app was deleted (or an operator purged it): the token is wiped then,
    # and every call for this Saleor is refused until it installs the app again.
    uninstalled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    def __repr__(self) -> str:
        return f"Installation(id={self.id}, saleor_api_url={self.saleor_api_url!r}, app_id={self.app_id!r})"


class PaycombatConfig(Base):
    """One PayCombat key pair with its defaults; channels map to it.

    A disabled configuration (``disabled_at``) has its keys wiped and no channels; it stays only for the
    payments that name it, and its name is free for a new one."""

    __tablename__ = "paycombat_configs"
    __table_args__ = (
        Index(
            "uq_paycombat_configs_live_name", "installation_id", "name", unique=True,
            sqlite_where=text("disabled_at IS NULL"), postgresql_where=text("disabled_at IS NULL"),
        ),
    )  # fmt: skip

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    installation_id: Mapped[int] = mapped_column(
        ForeignKey("installations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    environment: Mapped[str] = mapped_column(String(16), default="sandbox")
    api_url: Mapped[str | None] = mapped_column(String(512))
    x_token_encrypted: Mapped[str] = mapped_column(Text)
    signature_key_encrypted: Mapped[str] = mapped_column(Text)
    x_token_hint: Mapped[str] = mapped_column(String(8))
    signature_key_hint: Mapped[str] = mapped_column(String(8))
    allow_unsigned_webhooks: Mapped[bool] = mapped_column(Boolean, default=False)
    redirect_url: Mapped[str | None] = mapped_column(String(2048))
    allowed_payin_methods: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    def __repr__(self) -> str:
        return f"PaycombatConfig(id={self.id!r}, name={self.name!r}, environment={self.environment!r})"


class ChannelMapping(Base):
    __tablename__ = "channel_mappings"
    __table_args__ = (UniqueConstraint("installation_id", "channel_slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    installation_id: Mapped[int] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"))
    channel_slug: Mapped[str] = mapped_column(String(255))
    config_id: Mapped[str] = mapped_column(ForeignKey("paycombat_configs.id", ondelete="CASCADE"), index=True)


class PaymentSession(Base):
    """One Saleor transaction we started, and the PayCombat checkout behind it."""

    __tablename__ = "payment_sessions"
    __table_args__ = (
        UniqueConstraint("installation_id", "idempotency_key"),
        Index("ix_payment_sessions_reconcile_due", "state", "reconcile_next_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    installation_id: Mapped[int] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"))
    config_id: Mapped[str] = mapped_column(ForeignKey("paycombat_configs.id"), index=True)
    saleor_transaction_id: Mapped[str] = mapped_column(String(512), index=True)
    saleor_transaction_token: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(512))
    merchant_reference: Mapped[str] = mapped_column(String(128), unique=True)
    source_type: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[str] = mapped_column(String(512))
    channel_slug: Mapped[str] = mapped_column(String(255))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    action_type: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(24), default="initializing", index=True)
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    checkout_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    checkout_token: Mapped[str | None] = mapped_column(String(128))
    checkout_url: Mapped[str | None] = mapped_column(String(2048))
    expires_at: Mapped[str | None] = mapped_column(String(64))
    payin_method_name: Mapped[str | None] = mapped_column(String(128))
    virtual_account: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    paid_amount: Mapped[Decimal | None] = mapped_column(MONEY)
    payin_id: Mapped[str | None] = mapped_column(String(128))
    amount_mismatch: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    # Who first told us the outcome Saleor was sent: "webhook", "reconciliation" or "process".
    settled_by: Mapped[str | None] = mapped_column(String(16))
    # The reconciler's place (gateway/reconcile.py): how often PayCombat was asked, when to ask next,
    # which instance holds the payment now, and when (and why) it stopped asking.
    reconcile_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reconcile_next_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reconcile_claimed_by: Mapped[str | None] = mapped_column(String(64))
    reconcile_claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reconcile_stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reconcile_note: Mapped[str | None] = mapped_column(Text)
    # Held for review (gateway/settlement.py): PayCombat stated a success that proves no payment (no
    # amount, not more than zero, another currency, finer than the minor unit). Nothing was reported
    # to Saleor; a person must look. Cleared when a success that proves the payment arrives.
    held_reason: Mapped[str | None] = mapped_column(Text)
    held_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    # When retention removed the shopper's details (storage/retention.py); amounts and references stay.
    purged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PaycombatDelivery(Base):
    """The inbox: every authenticated PayCombat webhook, stored raw before it is acknowledged."""

    __tablename__ = "paycombat_deliveries"
    __table_args__ = (UniqueConstraint("config_id", "dedupe_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    config_id: Mapped[str] = mapped_column(ForeignKey("paycombat_configs.id", ondelete="CASCADE"))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    raw_body: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    signature_valid: Mapped[bool] = mapped_column(Boolean)
    dedupe_key: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    payin_id: Mapped[str | None] = mapped_column(String(128))
    payment_session_id: Mapped[int | None] = mapped_column(ForeignKey("payment_sessions.id"))
    match_state: Mapped[str] = mapped_column(String(16), default="unmatched", index=True)
    note: Mapped[str | None] = mapped_column(Text)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # "webhook", or "reconciliation" / "process" for what the app read from PayCombat itself
    source: Mapped[str] = mapped_column(String(16), default="webhook", server_default="webhook")
    # When retention emptied ``raw_body`` and ``headers`` (storage/retention.py); the row itself stays,
    # so a late redelivery is still recognised as a duplicate.
    purged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OutboxReport(Base):
    """A ``transactionEventReport`` owed to Saleor, retried until Saleor accepts it."""

    __tablename__ = "outbox_reports"
    __table_args__ = (
        UniqueConstraint("payment_session_id", "event_type", "psp_reference"),
        Index("ix_outbox_reports_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    installation_id: Mapped[int] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"))
    payment_session_id: Mapped[int] = mapped_column(ForeignKey("payment_sessions.id"))
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("paycombat_deliveries.id"))
    event_type: Mapped[str] = mapped_column(String(32))
    psp_reference: Mapped[str] = mapped_column(String(512))
    amount: Mapped[Decimal | None] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    message: Mapped[str | None] = mapped_column(Text)
    external_url: Mapped[str | None] = mapped_column(String(200))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    available_actions: Mapped[list[str] | None] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class RefundOwed(Base):
    """A refund Saleor asked for that the merchant carries out in PayCombat's dashboard.

    PayCombat has no refund API (``paycombat.contract`` inference ``refund_api``): the row is the
    to-do the merchant sees until they mark it refunded or declined. Its ``id`` is also the
    pspReference Saleor holds for the pending ``REFUND_REQUEST``.
    """

    __tablename__ = "refunds_owed"
    __table_args__ = (UniqueConstraint("installation_id", "request_key"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    installation_id: Mapped[int] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"))
    payment_session_id: Mapped[int] = mapped_column(ForeignKey("payment_sessions.id"), index=True)
    # Saleor's request (transaction, issuedAt, amount): a redelivered webhook finds its refund again.
    request_key: Mapped[str | None] = mapped_column(String(255))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(16), default="owed", index=True)
    payin_id: Mapped[str | None] = mapped_column(String(128))
    source_type: Mapped[str] = mapped_column(String(16))  # "order" or "checkout" (Saleor's fund release)
    source_id: Mapped[str | None] = mapped_column(String(512))
    order_number: Mapped[str | None] = mapped_column(String(64))  # the order's number, as Saleor sent it
    requested_by: Mapped[str] = mapped_column(String(255))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    granted_refund_id: Mapped[str | None] = mapped_column(String(512))
    paycombat_reference: Mapped[str | None] = mapped_column(String(255))
    decline_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class UnconfiguredChannelAttempt(Base):
    """A shopper tried to pay with PayCombat in a channel no configuration holds.

    The evidence that the channel pays with PayCombat (a Saleor lists every channel, used or not): shown
    to the merchant as an App Problem until a configuration takes the channel, or attempts stop.
    """

    __tablename__ = "unconfigured_channel_attempts"
    __table_args__ = (UniqueConstraint("installation_id", "channel_slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    installation_id: Mapped[int] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"))
    channel_slug: Mapped[str] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    last_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
