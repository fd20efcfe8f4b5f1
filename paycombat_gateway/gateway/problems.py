"""What needs the merchant now, shown in Saleor's Dashboard as App Problems (Saleor 3.22+).

One check per installation, top to bottom (``check_installation``):

1. ask Saleor its version (``shop { version }``, readable by any app). App Problems exist from 3.22;
   an older Saleor is sent nothing more, so the check also follows a Saleor upgraded in place;
2. find what is wrong now (``find_problems``): PayCombat refusing a configuration's keys (asked the way
   the settings page's connection test asks, ``gateway.key_check``); refunds owed longer than
   ``PROBLEMS_REFUND_OWED_HOURS``; reports to Saleor parked; payments held for the merchant's review
   (PayCombat's success proved no payment); a channel shoppers tried to pay in with PayCombat that no configuration holds (in the last
   ``UNCONFIGURED_CHANNEL_WINDOW``);
3. make the Dashboard say exactly that: a problem not shown yet is created; one whose message changed
   is dismissed and created again (so the Dashboard shows the current figures, not an aggregate of
   old ones); one whose cause is gone is dismissed. A cause that could not be checked now (PayCombat
   not answering the key check) leaves its problem as it is shown.

Keys name the kind of problem and, where one problem stands per thing, the thing (a configuration id, a
channel slug), so each is dismissed on its own when its cause goes. A problem a staff user dismissed
stays dismissed while its message holds; a changed situation (another count) shows it again.

Messages name configurations and channels (the merchant's own words) and counts; never a shopper, an
order or a secret.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import aiohttp
from sqlalchemy import select
from sqlalchemy.orm import Session

from paycombat_gateway.gateway.blocking import in_thread
from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.gateway.key_check import KeyCheck, check_keys_async
from paycombat_gateway.saleor.client import SaleorClient
from paycombat_gateway.storage.backlog import (
    held_payments_by_installation,
    parked_reports_by_installation,
    refunds_owed_by_installation,
)
from paycombat_gateway.storage.channel_attempts import note_unconfigured_channel, unconfigured_channels
from paycombat_gateway.storage.db import StorageUnavailable
from paycombat_gateway.storage.models import ChannelMapping, Installation, PaycombatConfig, utcnow

__all__ = [
    "UNCONFIGURED_CHANNEL_WINDOW",
    "CheckOutcome",
    "Problem",
    "Situation",
    "check_installation",
    "find_problems",
    "note_channel_without_configuration",
    "offers_app_problems",
]

logger = logging.getLogger(__name__)

UNCONFIGURED_CHANNEL_WINDOW = timedelta(days=7)
KEYS_REFUSED = "paycombat-keys-refused"
REFUNDS_OVERDUE = "refunds-owed-overdue"
REPORTS_PARKED = "saleor-reports-parked"
PAYMENTS_HELD = "payments-held"
CHANNEL_NOT_CONFIGURED = "channel-not-configured"
_MAX_KEY = 128  # Saleor's limit
_DISMISS_BATCH = 100  # Saleor's limit per appProblemDismiss


@dataclass(frozen=True, slots=True)
class Problem:
    key: str
    message: str


@dataclass(frozen=True, slots=True)
class Situation:
    """What one installation's records and PayCombat say now: the facts problems are made of."""

    refused_configs: list[tuple[PaycombatConfig, list[str]]] = field(
        default_factory=list
    )  # and their channels
    unchecked_configs: list[str] = field(default_factory=list)  # ids: PayCombat gave no answer either way
    overdue_refunds: int = 0
    refund_owed_hours: float = 48.0
    parked_reports: int = 0
    held_payments: int = 0
    unconfigured_channels: dict[str, int] = field(default_factory=dict)  # slug -> attempts


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """What one check did in one Saleor."""

    offered: bool  # whether this Saleor offers App Problems (3.22+)
    created: list[str] = field(default_factory=list)
    dismissed: list[str] = field(default_factory=list)


def offers_app_problems(version: str) -> bool:
    """Whether a Saleor of ``version`` (``3.23.28``, ``3.22.0-a.1``) has App Problems: 3.22 and later."""
    match = re.match(r"\s*(\d+)\.(\d+)", version)
    return match is not None and (int(match.group(1)), int(match.group(2))) >= (3, 22)


def _key(kind: str, subject: str | None = None) -> str:
    if subject is None:
        return kind
    key = f"{kind}:{subject}"
    if len(key) <= _MAX_KEY:
        return key
    return f"{kind}:{hashlib.sha256(subject.encode()).hexdigest()[:32]}"  # a long channel slug


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def find_problems(situation: Situation) -> tuple[list[Problem], set[str]]:
    """The problems ``situation`` amounts to, and the keys whose cause could not be checked now."""
    problems = []
    for config, channels in situation.refused_configs:
        where = f" Channels {', '.join(channels)} cannot take payments." if channels else ""
        problems.append(Problem(
            _key(KEYS_REFUSED, config.id),
            f"PayCombat refuses the keys of configuration \"{config.name}\" ({config.environment}).{where} "
            "Enter its current X-token and signature key in the app's settings.",
        ))  # fmt: skip
    if situation.overdue_refunds:
        hours = f"{situation.refund_owed_hours:g}"
        problems.append(Problem(
            REFUNDS_OVERDUE,
            f"{_plural(situation.overdue_refunds, 'refund has', 'refunds have')} been owed to shoppers for more "
            f"than {hours} hours. Carry them out in PayCombat's dashboard, then mark them refunded or "
            "declined in the app.",
        ))  # fmt: skip
    if situation.parked_reports:
        problems.append(Problem(
            REPORTS_PARKED,
            f"{_plural(situation.parked_reports, 'payment report was', 'payment reports were')} refused by "
            "Saleor and parked: orders may not show what PayCombat took. See them in the app's settings "
            "and retry once the cause is fixed.",
        ))  # fmt: skip
    if situation.held_payments:
        problems.append(Problem(
            PAYMENTS_HELD,
            f"{_plural(situation.held_payments, 'payment is', 'payments are')} held for review: PayCombat "
            "said paid, but its answer proves no payment, so nothing was reported to Saleor. Check them in "
            "PayCombat's dashboard; the app's settings show why each is held.",
        ))  # fmt: skip
    for slug, attempts in situation.unconfigured_channels.items():
        problems.append(Problem(
            _key(CHANNEL_NOT_CONFIGURED, slug),
            f"Shoppers tried to pay with PayCombat in channel {slug} ({_plural(attempts, 'time', 'times')}), "
            "but no PayCombat configuration holds that channel. Add it to a configuration in the app's "
            "settings.",
        ))  # fmt: skip
    unchecked = {_key(KEYS_REFUSED, config_id) for config_id in situation.unchecked_configs}
    return problems, unchecked


# --- reading the situation ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Records:
    configs: list[tuple[PaycombatConfig, list[str]]]
    overdue_refunds: int
    parked_reports: int
    held_payments: int
    unconfigured_channels: dict[str, int]


def _read_records(ctx: GatewayContext, installation_id: int, now: datetime) -> _Records:
    hours = ctx.settings.problems.refund_owed_hours

    def read(session: Session) -> _Records:
        configs = list(
            session.scalars(
                select(PaycombatConfig).where(  # a disabled configuration has no keys left to check
                    PaycombatConfig.installation_id == installation_id, PaycombatConfig.disabled_at.is_(None)
                )
            )
        )
        channels: dict[str, list[str]] = {}
        for config_id, slug in session.execute(
            select(ChannelMapping.config_id, ChannelMapping.channel_slug)
            .where(ChannelMapping.installation_id == installation_id)
            .order_by(ChannelMapping.channel_slug)
        ):
            channels.setdefault(config_id, []).append(slug)
        return _Records(
            configs=[(config, channels.get(config.id, [])) for config in configs],
            overdue_refunds=refunds_owed_by_installation(session, now - timedelta(hours=hours)).get(
                installation_id, 0
            ),
            parked_reports=parked_reports_by_installation(session).get(installation_id, 0),
            held_payments=held_payments_by_installation(session).get(installation_id, 0),
            unconfigured_channels=unconfigured_channels(
                session, installation_id, now - UNCONFIGURED_CHANNEL_WINDOW
            ),
        )

    return ctx.database.run(read)


async def _check_keys(ctx: GatewayContext, config: PaycombatConfig) -> KeyCheck:
    """Asked through the configuration's background client of the running loop (the reconciler's,
    kept open between rounds), by ``outbound.PAYCOMBAT_BACKGROUND``."""
    return await check_keys_async(ctx.paycombat.async_for_config(config, background=True))


async def read_situation(ctx: GatewayContext, installation_id: int) -> Situation:
    records = await in_thread(_read_records, ctx, installation_id, utcnow())
    refused, unchecked = [], []
    for config, channels in records.configs:
        verdict = await _check_keys(ctx, config)
        if verdict is KeyCheck.REFUSED:
            refused.append((config, channels))
        elif verdict is KeyCheck.UNANSWERED:
            unchecked.append(config.id)
    return Situation(
        refused_configs=refused,
        unchecked_configs=unchecked,
        overdue_refunds=records.overdue_refunds,
        refund_owed_hours=ctx.settings.problems.refund_owed_hours,
        parked_reports=records.parked_reports,
        held_payments=records.held_payments,
        unconfigured_channels=records.unconfigured_channels,
    )


# --- telling Saleor ---------------------------------------------------------------------------------


def _batches(keys: Iterable[str]) -> Iterable[list[str]]:
    ordered = sorted(keys)
    for start in range(0, len(ordered), _DISMISS_BATCH):
        yield ordered[start : start + _DISMISS_BATCH]


async def check_installation(
    ctx: GatewayContext, installation: Installation, http: aiohttp.ClientSession
) -> CheckOutcome:
    """Make ``installation``'s Dashboard show what needs the merchant now (see the module docstring)."""
    saleor: SaleorClient = ctx.saleor_client(installation, http=http)
    if not offers_app_problems(await saleor.saleor_version_async()):
        return CheckOutcome(offered=False)
    problems, unchecked = find_problems(await read_situation(ctx, installation.id))
    shown = await saleor.app_problems_async()
    open_now = {problem.key: problem.message for problem in shown if problem.dismissed_by is None}
    seen_by_staff = {(p.key, p.message) for p in shown if p.dismissed_by == "USER"}
    wanted = {problem.key: problem.message for problem in problems}
    stale = {key for key in open_now if key not in wanted and key not in unchecked}
    changed = {key for key, message in wanted.items() if key in open_now and open_now[key] != message}
    for batch in _batches(stale | changed):
        await saleor.app_problem_dismiss_async(batch)
    created = []
    for key, message in wanted.items():
        if open_now.get(key) == message or (key not in open_now and (key, message) in seen_by_staff):
            continue
        await saleor.app_problem_create_async(key, message)
        created.append(key)
    if created or stale:
        logger.info(
            "problems in %s: shown %s; dismissed %s",
            installation.saleor_api_url, ", ".join(created) or "none", ", ".join(sorted(stale)) or "none",
        )  # fmt: skip
    return CheckOutcome(offered=True, created=created, dismissed=sorted(stale | changed))


# --- what the payment flow notes for the check ------------------------------------------------------


def note_channel_without_configuration(ctx: GatewayContext, installation_id: int, channel_slug: str) -> None:
    """A shopper tried to pay in a channel no configuration holds: remember it for the check. Never
    fails the payment's answer: without the database, the note is lost, not the answer."""
    try:
        ctx.database.run(lambda session: note_unconfigured_channel(session, installation_id, channel_slug))
    except StorageUnavailable:
        logger.warning("could not note the payment attempt in unconfigured channel %s", channel_slug)
