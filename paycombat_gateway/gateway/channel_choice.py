"""Which channels a configuration may take: the Saleor's own channels, one configuration each.

The settings page and ``config add`` follow the same rules, read top to bottom here:
1. a channel the configuration does not hold yet must exist in the Saleor (read with the app token);
   a mistyped slug would otherwise be saved and never offer PayCombat;
2. a channel another configuration holds is refused with that configuration's name, unless the merchant
   explicitly moves it;
3. if the Saleor cannot be reached to list its channels, nothing is saved and the caller says so.
A channel whose currency PayCombat does not take is allowed but warned about (``currency_warning``).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.gateway.methods import allowed_methods
from paycombat_gateway.outbound import SALEOR_DASHBOARD
from paycombat_gateway.paycombat.contract import PAYIN_METHODS_BY_CURRENCY
from paycombat_gateway.saleor.client import SaleorChannel, SaleorError
from paycombat_gateway.storage.models import ChannelMapping, Installation, PaycombatConfig

__all__ = [
    "ChannelHolder",
    "ChannelProblem",
    "ChannelsUnavailable",
    "channel_holders",
    "check_channel_choice",
    "currency_warning",
    "new_slugs",
    "saleor_channels",
    "saleor_channels_async",
]


class ChannelsUnavailable(Exception):
    """The Saleor did not list its channels (down, or the app token refused)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Could not read this Saleor's channels ({reason}).")
        self.message = str(self)


@dataclass(frozen=True, slots=True)
class ChannelProblem:
    code: str  # NOT_FOUND or TAKEN
    slug: str
    message: str


@dataclass(frozen=True, slots=True)
class ChannelHolder:
    config_id: str
    config_name: str


def saleor_channels(ctx: GatewayContext, installation: Installation) -> list[SaleorChannel]:
    """The Saleor's channels, asked with the app token stored at install time (the CLI's commands)."""
    try:
        return ctx.saleor_client(installation).channels()
    except SaleorError as exc:
        raise ChannelsUnavailable(str(exc)) from None


async def saleor_channels_async(ctx: GatewayContext, installation: Installation) -> list[SaleorChannel]:
    """``saleor_channels`` on the event loop, by ``outbound.SALEOR_DASHBOARD`` (the settings page)."""
    try:
        return await ctx.saleor_client(installation, SALEOR_DASHBOARD).channels_async()
    except SaleorError as exc:
        raise ChannelsUnavailable(str(exc)) from None


def channel_holders(session: Session, installation_id: int) -> dict[str, ChannelHolder]:
    """Every mapped channel slug of the installation and the configuration holding it."""
    rows = session.execute(
        select(ChannelMapping.channel_slug, PaycombatConfig.id, PaycombatConfig.name)
        .join(PaycombatConfig, PaycombatConfig.id == ChannelMapping.config_id)
        .where(ChannelMapping.installation_id == installation_id)
    )
    return {slug: ChannelHolder(config_id, name) for slug, config_id, name in rows}


def new_slugs(holders: dict[str, ChannelHolder], config_id: str | None, slugs: Sequence[str]) -> list[str]:
    """The slugs ``config_id`` does not hold yet: only these need the Saleor's word that they exist."""
    return [
        slug
        for slug in dict.fromkeys(slugs)
        if (holder := holders.get(slug)) is None or holder.config_id != config_id
    ]


def check_channel_choice(
    holders: dict[str, ChannelHolder],
    known: Sequence[SaleorChannel] | None,
    config_id: str | None,
    slugs: Sequence[str],
    *,
    move: bool,
) -> list[ChannelProblem]:
    """Problems with mapping ``slugs`` to ``config_id`` (None: a configuration being created).

    ``known`` is the Saleor's channel list, needed only when ``new_slugs`` is not empty."""
    problems: list[ChannelProblem] = []
    adding = new_slugs(holders, config_id, slugs)
    existing = {channel.slug for channel in known or ()}
    for slug in adding:
        if known is not None and slug not in existing:
            close = difflib.get_close_matches(slug, sorted(existing), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            problems.append(ChannelProblem("NOT_FOUND", slug, f"This Saleor has no channel {slug!r}.{hint}"))
        elif (holder := holders.get(slug)) is not None and not move:
            problems.append(
                ChannelProblem(
                    "TAKEN",
                    slug,
                    f"Channel {slug!r} already pays with configuration {holder.config_name!r}; "
                    "move it explicitly to map it here.",
                )
            )
    return problems


def currency_warning(channel: SaleorChannel, config: PaycombatConfig | None) -> str | None:
    """Why ``channel`` will not offer PayCombat although it is mapped, or None if it will."""
    if not PAYIN_METHODS_BY_CURRENCY.get(channel.currency):
        return f"PayCombat takes no {channel.currency}: channel {channel.name} will not offer PayCombat."
    if config is not None and not allowed_methods(config, channel.currency):
        return (
            f"None of the allowed payin methods is offered in {channel.currency}: channel {channel.name} "
            "will not offer PayCombat."
        )
    return None
