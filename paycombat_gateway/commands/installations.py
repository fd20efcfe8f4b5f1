"""``paycombat-gateway installations list``: the Saleors that installed the app, and how each stands.

Never shows a token: only the Saleor API URL, the app id Saleor gave, the dates, and counts of what
the app holds for it (configurations, payments, reports owed or parked).
"""

from __future__ import annotations

import argparse
from typing import Any

from paycombat_gateway.commands import open_context

__all__ = ["register"]


def _list(args: argparse.Namespace) -> int:
    from sqlalchemy import func, select

    from paycombat_gateway.storage.configs import list_configs
    from paycombat_gateway.storage.installations import list_installations
    from paycombat_gateway.storage.models import OutboxReport, PaymentSession

    ctx = open_context(migrate_it=False)
    try:
        with ctx.database.session(readonly=True) as session:
            installations = list_installations(session)
            for installation in installations:
                payments = session.scalar(
                    select(func.count()).where(PaymentSession.installation_id == installation.id)
                )
                reports = dict(
                    session.execute(
                        select(OutboxReport.state, func.count())
                        .where(OutboxReport.installation_id == installation.id)
                        .group_by(OutboxReport.state)
                    ).all()
                )
                state = (
                    f"uninstalled {installation.uninstalled_at:%Y-%m-%d %H:%M} UTC"
                    if installation.uninstalled_at
                    else "installed"
                )
                print(f"{installation.id}  {installation.saleor_api_url}  {state}")
                print(
                    f"    app {installation.app_id}, installed {installation.created_at:%Y-%m-%d %H:%M} UTC, "
                    f"last registered {installation.updated_at:%Y-%m-%d %H:%M} UTC"
                )
                print(
                    f"    configurations {len(list_configs(session, installation.id))}, payments {payments}, "
                    f"reports owed {reports.get('pending', 0)}, parked {reports.get('failed', 0)}"
                )
    finally:
        ctx.close()
    if not installations:
        print(f"No Saleor has installed the app yet: install it from {ctx.settings.app_url}/api/manifest.")
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "installations",
        help="the Saleors that installed the app",
        description="The Saleors that installed the app, in the database chosen by DATABASE_URL (default: the "
        "SQLite file in DATA_DIR): run it with the same settings as serve. Tokens are never shown.",
    )
    commands = parser.add_subparsers(dest="installations_command", required=True, metavar="list")
    listing = commands.add_parser("list", help="each installation, its state and what the app holds for it")
    listing.set_defaults(handler=_list)
