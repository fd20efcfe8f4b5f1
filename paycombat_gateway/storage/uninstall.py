"""Forgetting an installation when Saleor deletes the app (``APP_DELETED``) or an operator purges it.

What can act for the merchant goes: the Saleor app token, every configuration's PayCombat keys and
channels. What the books need stays: payments, refunds and reports, with their amounts, references and
states. Reports still owed to Saleor are parked (there is no token to send them with any more) and the
reconciler stops asking PayCombat about open payments. A reinstall from the same Saleor starts with no
configuration; the parked reports can then be sent with ``outbox retry --parked``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from paycombat_gateway.storage.configs import disable_config
from paycombat_gateway.storage.models import (
    Installation,
    OutboxReport,
    PaycombatConfig,
    PaymentSession,
    utcnow,
)
from paycombat_gateway.storage.outbox import REPORT_OWED, REPORT_PARKED
from paycombat_gateway.storage.reconciliation import OPEN_STATES

__all__ = ["UNINSTALLED_NOTE", "Uninstalled", "uninstall"]

UNINSTALLED_NOTE = "not sent: the app was uninstalled from this Saleor"


@dataclass(frozen=True, slots=True)
class Uninstalled:
    """What ``uninstall`` removed or stopped, for the log and the operator."""

    saleor_api_url: str
    app_id: str
    token_wiped: bool
    configs_disabled: list[str] = field(default_factory=list)  # "name (id)"
    channels_unmapped: list[str] = field(default_factory=list)
    reports_parked: int = 0
    payments_stopped: int = 0

    def lines(self) -> list[str]:
        return [
            f"Saleor app token: {'wiped' if self.token_wiped else 'already gone'}",
            f"configurations disabled, PayCombat keys wiped: {', '.join(self.configs_disabled) or 'none'}",
            f"channels that no longer offer PayCombat: {', '.join(self.channels_unmapped) or 'none'}",
            f"reports to Saleor parked: {self.reports_parked}",
            f"open payments no longer looked up at PayCombat: {self.payments_stopped}",
        ]


def uninstall(session: Session, saleor_api_url: str, *, app_id: str | None = None) -> Uninstalled | None:
    """Wipe the installation of ``saleor_api_url``; None when there is none. With ``app_id`` (Saleor's
    ``APP_DELETED``), only that app's installation: a reinstall that came in between is left alone.
    Repeating it changes nothing more."""
    installation = session.scalars(
        select(Installation).where(Installation.saleor_api_url == saleor_api_url).with_for_update()
    ).first()
    if installation is None or (app_id is not None and installation.app_id != app_id):
        return None
    now = utcnow()
    token_wiped = bool(installation.token_encrypted)
    installation.token_encrypted = ""
    installation.jwks = None
    installation.uninstalled_at = installation.uninstalled_at or now
    parked = session.execute(
        update(OutboxReport)
        .where(OutboxReport.installation_id == installation.id, OutboxReport.state == REPORT_OWED)
        .values(state=REPORT_PARKED, last_error=UNINSTALLED_NOTE, claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    stopped = session.execute(
        update(PaymentSession)
        .where(
            PaymentSession.installation_id == installation.id,
            PaymentSession.state.in_(OPEN_STATES),
            PaymentSession.reconcile_stopped_at.is_(None),
        )
        .values(reconcile_stopped_at=now, reconcile_note="the app was uninstalled from this Saleor")
        .execution_options(synchronize_session=False)
    )
    disabled: list[str] = []
    channels: list[str] = []
    live = select(PaycombatConfig).where(
        PaycombatConfig.installation_id == installation.id, PaycombatConfig.disabled_at.is_(None)
    )
    for config in session.scalars(live).all():
        channels += disable_config(session, config)
        disabled.append(f"{config.name} ({config.id})")
    session.flush()
    return Uninstalled(
        saleor_api_url=installation.saleor_api_url,
        app_id=installation.app_id,
        token_wiped=token_wiped,
        configs_disabled=disabled,
        channels_unmapped=sorted(channels),
        reports_parked=int(getattr(parked, "rowcount", 0) or 0),
        payments_stopped=int(getattr(stopped, "rowcount", 0) or 0),
    )
