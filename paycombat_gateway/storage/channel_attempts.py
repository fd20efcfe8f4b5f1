"""Channels shoppers tried to pay in with PayCombat while no configuration held them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from paycombat_gateway.storage.models import ChannelMapping, UnconfiguredChannelAttempt, utcnow
from paycombat_gateway.storage.upsert import insert_unless_exists

__all__ = ["note_unconfigured_channel", "unconfigured_channels"]


def note_unconfigured_channel(session: Session, installation_id: int, channel_slug: str) -> None:
    """Remember one more attempt to pay in ``channel_slug`` (one row per channel, however many)."""
    now = utcnow()
    created = insert_unless_exists(
        session, UnconfiguredChannelAttempt, ("installation_id", "channel_slug"),
        installation_id=installation_id, channel_slug=channel_slug, attempts=1, last_attempt_at=now,
    )  # fmt: skip
    if created is None:
        session.execute(
            update(UnconfiguredChannelAttempt)
            .where(
                UnconfiguredChannelAttempt.installation_id == installation_id,
                UnconfiguredChannelAttempt.channel_slug == channel_slug,
            )
            .values(attempts=UnconfiguredChannelAttempt.attempts + 1, last_attempt_at=now)
        )


def unconfigured_channels(session: Session, installation_id: int, since: datetime) -> dict[str, int]:
    """Channels (and their attempts) still held by no configuration that a shopper tried since ``since``.

    Attempts for a channel a configuration now holds, or older than ``since``, are forgotten here: their
    cause is gone."""
    mapped = exists().where(
        ChannelMapping.installation_id == UnconfiguredChannelAttempt.installation_id,
        ChannelMapping.channel_slug == UnconfiguredChannelAttempt.channel_slug,
    )
    mine = UnconfiguredChannelAttempt.installation_id == installation_id
    session.execute(
        delete(UnconfiguredChannelAttempt).where(
            mine, mapped | (UnconfiguredChannelAttempt.last_attempt_at < since)
        )
    )
    rows = session.execute(
        select(UnconfiguredChannelAttempt.channel_slug, UnconfiguredChannelAttempt.attempts)
        .where(mine)
        .order_by(UnconfiguredChannelAttempt.channel_slug)
    )
    return {slug: int(attempts) for slug, attempts in rows}
