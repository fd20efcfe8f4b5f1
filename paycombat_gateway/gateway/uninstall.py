"""The app was deleted in a Saleor: ``APP_DELETED`` (Saleor 3.23+) or ``paycombat-gateway purge``.

Both forget the installation the same way (``storage.uninstall``): the Saleor token and the PayCombat
keys are wiped, the configurations disabled, reports still owed parked. This process's caches are
dropped at once; other instances refuse the Saleor once their caches expire (seconds).
"""

from __future__ import annotations

import logging

from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.saleor.payloads import AppDeleted
from paycombat_gateway.storage.models import Installation
from paycombat_gateway.storage.uninstall import Uninstalled, uninstall

__all__ = ["app_deleted", "forget_installation"]

logger = logging.getLogger(__name__)


def forget_installation(
    ctx: GatewayContext, saleor_api_url: str, *, app_id: str | None = None
) -> Uninstalled | None:
    """Wipe the installation of ``saleor_api_url`` (only app ``app_id``'s, when given); None when
    there is none."""
    with ctx.database.session() as session:
        removed = uninstall(session, saleor_api_url, app_id=app_id)
    ctx.configs.invalidate()
    if removed is not None:
        logger.info(
            "uninstalled from %s (app %s): %d configuration(s) disabled, %d report(s) parked",
            removed.saleor_api_url, removed.app_id, len(removed.configs_disabled), removed.reports_parked,
        )  # fmt: skip
    return removed


def app_deleted(ctx: GatewayContext, installation_id: int, payload: AppDeleted) -> dict[str, bool]:
    """Saleor's notice, verified (signature and recipient) before it gets here. The app it names must be
    this installation's: a notice about another app of the same Saleor changes nothing."""
    with ctx.database.session(readonly=True) as session:
        installation = session.get(Installation, installation_id)
        saleor_api_url, app_id = (
            (installation.saleor_api_url, installation.app_id) if installation else ("", "")
        )
    if not saleor_api_url or (payload.app is not None and payload.app.id != app_id):
        logger.warning("APP_DELETED for another app of this Saleor ignored")
        return {"uninstalled": False}
    forget_installation(ctx, saleor_api_url, app_id=app_id)
    return {"uninstalled": True}
