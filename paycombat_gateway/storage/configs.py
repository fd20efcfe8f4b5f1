"""PayCombat configurations (encrypted key pairs) and the channels mapped to them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from paycombat_gateway.storage.models import ChannelMapping, PaycombatConfig, PaymentSession, utcnow
from paycombat_gateway.storage.reconciliation import OPEN_STATES, payable_until
from paycombat_gateway.storage.secrets import SecretBox, secret_hint

__all__ = [
    "ConfigCredentials",
    "OpenPaymentsBlockRemoval",
    "SecretsRequired",
    "config_for_channel",
    "create_config",
    "credentials",
    "disable_config",
    "get_config",
    "has_payments",
    "list_configs",
    "map_channels",
    "mapped_channels",
    "open_payments",
    "remove_config",
    "same_api_url",
    "unmap_channel",
    "update_config",
]


@dataclass(frozen=True, slots=True)
class ConfigCredentials:
    """Decrypted keys, held only as long as a request needs them."""

    x_token: str
    signature_key: str

    def __repr__(self) -> str:
        return "ConfigCredentials(<hidden>)"


class SecretsRequired(ValueError):
    """The API URL would change while the stored keys stay: keys go only where they were saved for."""


def same_api_url(a: str | None, b: str | None) -> bool:
    """Whether two configured API URLs (None: the app's default) are the same place."""
    return (a or "").rstrip("/") == (b or "").rstrip("/")


def create_config(
    session: Session,
    box: SecretBox,
    *,
    installation_id: int,
    name: str,
    x_token: str,
    signature_key: str,
    environment: str = "sandbox",
    api_url: str | None = None,
    redirect_url: str | None = None,
    allowed_payin_methods: Sequence[str] | None = None,
    allow_unsigned_webhooks: bool = False,
) -> PaycombatConfig:
    config = PaycombatConfig(
        installation_id=installation_id,
        name=name,
        environment=environment,
        api_url=api_url,
        x_token_encrypted=box.encrypt(x_token),
        signature_key_encrypted=box.encrypt(signature_key),
        x_token_hint=secret_hint(x_token),
        signature_key_hint=secret_hint(signature_key),
        redirect_url=redirect_url,
        allowed_payin_methods=list(allowed_payin_methods) if allowed_payin_methods is not None else None,
        allow_unsigned_webhooks=allow_unsigned_webhooks,
    )
    session.add(config)
    session.flush()
    return config


def update_config(
    session: Session,
    box: SecretBox,
    config: PaycombatConfig,
    *,
    x_token: str | None = None,
    signature_key: str | None = None,
    **fields: object,
) -> PaycombatConfig:
    """Change plain fields; secrets only when given (blank keeps the stored one).

    A new ``api_url`` needs both secrets in the same call (``SecretsRequired`` otherwise): stored keys
    are only ever sent to the URL they were saved with."""
    if "api_url" in fields:
        new_url = fields["api_url"]
        moves = not same_api_url(str(new_url) if new_url is not None else None, config.api_url)
        if moves and not (x_token and signature_key):
            raise SecretsRequired("changing the API URL needs the X-token and the signature key again")
    if x_token:
        config.x_token_encrypted = box.encrypt(x_token)
        config.x_token_hint = secret_hint(x_token)
    if signature_key:
        config.signature_key_encrypted = box.encrypt(signature_key)
        config.signature_key_hint = secret_hint(signature_key)
    for name, value in fields.items():
        if not hasattr(PaycombatConfig, name) or name.endswith("_encrypted") or name.endswith("_hint"):
            raise AttributeError(f"not an editable configuration field: {name}")
        setattr(config, name, value)
    session.flush()
    return config


def credentials(box: SecretBox, config: PaycombatConfig) -> ConfigCredentials:
    return ConfigCredentials(
        box.decrypt(config.x_token_encrypted), box.decrypt(config.signature_key_encrypted)
    )


def get_config(session: Session, config_id: str) -> PaycombatConfig | None:
    """The configuration, unless it is unknown or disabled: a disabled one has no keys to use."""
    config = session.get(PaycombatConfig, config_id)
    return config if config is not None and config.disabled_at is None else None


def list_configs(session: Session, installation_id: int) -> list[PaycombatConfig]:
    """The installation's configurations in use (disabled ones are kept only for their payments)."""
    return list(
        session.scalars(
            select(PaycombatConfig)
            .where(PaycombatConfig.installation_id == installation_id, PaycombatConfig.disabled_at.is_(None))
            .order_by(PaycombatConfig.created_at, PaycombatConfig.name)
        )
    )


def disable_config(session: Session, config: PaycombatConfig) -> list[str]:
    """Wipe the configuration's PayCombat keys and unmap its channels; the row stays for the payments that
    name it (their amounts and references are bookkeeping). Its open payments can no longer be looked up
    at PayCombat, so the reconciler stops asking about them. Returns the channels it held."""
    channels = mapped_channels(session, config.id)
    session.execute(delete(ChannelMapping).where(ChannelMapping.config_id == config.id))
    session.execute(
        update(PaymentSession)
        .where(
            PaymentSession.config_id == config.id,
            PaymentSession.state.in_(OPEN_STATES),
            PaymentSession.reconcile_stopped_at.is_(None),
        )
        .values(reconcile_stopped_at=utcnow(), reconcile_note="its PayCombat configuration was removed")
        .execution_options(synchronize_session=False)
    )
    config.x_token_encrypted = ""
    config.signature_key_encrypted = ""
    config.x_token_hint = ""
    config.signature_key_hint = ""
    config.disabled_at = utcnow()
    session.flush()
    return channels


class OpenPaymentsBlockRemoval(Exception):
    """A configuration still has payments a shopper can complete: removing it would wipe the keys their
    webhooks are checked with and stop the reconciler, so they could never settle."""

    def __init__(self, count: int) -> None:
        self.count = count
        super().__init__(
            f"{count} payment{'s' if count != 1 else ''} on it {'are' if count != 1 else 'is'} still open: "
            "unmap its channels so no new payments start, wait until they settle or expire, then remove it"
        )


def open_payments(session: Session, config_id: str, now: datetime | None = None) -> int:
    """How many of the configuration's payments a shopper can still complete: open, and not past their
    expiry (one whose expiry is unknown counts as open)."""
    now = now or datetime.now(UTC)
    rows = session.execute(
        select(PaymentSession.expires_at, PaymentSession.virtual_account).where(
            PaymentSession.config_id == config_id, PaymentSession.state.in_(OPEN_STATES)
        )
    ).all()
    return sum(1 for expires_at, account in rows if (payable_until(expires_at, account) or now) >= now)


def remove_config(
    session: Session, config: PaycombatConfig
) -> tuple[Literal["deleted", "disabled"], list[str]]:
    """Delete a configuration no payment names; disable one that has payments (``disable_config``).
    Either way its keys are gone and its channels stop offering PayCombat. Returns which, and the
    channels it held. Raises ``OpenPaymentsBlockRemoval``, changing nothing, while a payment on it can
    still be completed."""
    still_open = open_payments(session, config.id)
    if still_open:
        raise OpenPaymentsBlockRemoval(still_open)
    if has_payments(session, config.id):
        return "disabled", disable_config(session, config)
    channels = mapped_channels(session, config.id)
    session.delete(config)
    session.flush()
    return "deleted", channels


def map_channels(
    session: Session, installation_id: int, config_id: str, channel_slugs: Sequence[str]
) -> None:
    """Point each channel at ``config_id`` (a channel maps to one configuration at a time)."""
    for slug in channel_slugs:
        session.execute(
            delete(ChannelMapping).where(
                ChannelMapping.installation_id == installation_id, ChannelMapping.channel_slug == slug
            )
        )
        session.add(ChannelMapping(installation_id=installation_id, channel_slug=slug, config_id=config_id))
    session.flush()


def unmap_channel(session: Session, installation_id: int, channel_slug: str) -> None:
    session.execute(
        delete(ChannelMapping).where(
            ChannelMapping.installation_id == installation_id, ChannelMapping.channel_slug == channel_slug
        )
    )


def has_payments(session: Session, config_id: str) -> bool:
    return (
        session.scalars(
            select(PaymentSession.id).where(PaymentSession.config_id == config_id).limit(1)
        ).first()
        is not None
    )


def mapped_channels(session: Session, config_id: str) -> list[str]:
    return list(
        session.scalars(
            select(ChannelMapping.channel_slug)
            .where(ChannelMapping.config_id == config_id)
            .order_by(ChannelMapping.channel_slug)
        )
    )


def config_for_channel(session: Session, installation_id: int, channel_slug: str) -> PaycombatConfig | None:
    return session.scalars(
        select(PaycombatConfig)
        .join(ChannelMapping, ChannelMapping.config_id == PaycombatConfig.id)
        .where(ChannelMapping.installation_id == installation_id, ChannelMapping.channel_slug == channel_slug)
    ).first()
