"""``paycombat-gateway purge --saleor-api-url URL | --expired``: remove data now, by hand.

``--saleor-api-url`` does what Saleor's ``APP_DELETED`` does (``gateway.uninstall``) for a Saleor that
never sent it (3.21, or an app deleted while this server was down): the app token and PayCombat keys are
wiped, the configurations disabled. ``--expired`` runs the retention pass the server runs hourly
(``storage.retention``) now, with ``DATA_RETENTION_DAYS``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from paycombat_gateway.commands import open_context

__all__ = ["register"]


def _purge(args: argparse.Namespace) -> int:
    from paycombat_gateway.gateway.uninstall import forget_installation
    from paycombat_gateway.storage.retention import purge_all_expired, retention_cutoff

    ctx = open_context(migrate_it=True)
    try:
        if args.expired:
            days = ctx.settings.data_retention_days
            purged = purge_all_expired(ctx.database, days)
            print(
                f"Shoppers' details older than {days} day(s) (before {retention_cutoff(days):%Y-%m-%d %H:%M} UTC) "
                "removed:"
            )
            print(f"  PayCombat deliveries emptied (body and headers): {purged.deliveries}")
            print(f"  settled payments' account, checkout link and error text removed: {purged.payments}")
            return 0
        removed = forget_installation(ctx, args.saleor_api_url)
    finally:
        ctx.close()
    if removed is None:
        print(
            f"paycombat-gateway purge: no installation for {args.saleor_api_url} (see installations list)",
            file=sys.stderr,
        )
        return 2
    print(f"Removed the app's access for {removed.saleor_api_url} (app {removed.app_id}):")
    for line in removed.lines():
        print(f"  {line}")
    print(
        "Payments, refunds and reports stay for the books. Installing the app again starts with no configuration."
    )
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "purge",
        help="wipe an uninstalled Saleor's keys, or apply DATA_RETENTION_DAYS now",
        description="Remove data now: --saleor-api-url does what Saleor's APP_DELETED does (for Saleors that "
        "never sent it), --expired runs the retention pass. Uses the database serve uses (DATABASE_URL, "
        "else DATA_DIR).",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--saleor-api-url", metavar="URL",
        help="wipe this installation's Saleor token and PayCombat keys and disable its configurations "
        "(default: none; this or --expired)",
    )  # fmt: skip
    which.add_argument(
        "--expired", action="store_true",
        help="remove shoppers' details older than DATA_RETENTION_DAYS now; the server does it hourly (default: off)",
    )  # fmt: skip
    parser.set_defaults(handler=_purge)
