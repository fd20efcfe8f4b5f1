"""``paycombat-gateway outbox list|retry``: the reports owed to Saleor, without SQL.

Every payment outcome reaches Saleor as a report in the outbox (``storage.outbox``). A report is owed
until Saleor accepts it and is retried with backoff; one Saleor refused for good (or whose Saleor
uninstalled the app) is parked until an operator retries it. ``retry`` makes reports due now: the
running instances' outbox workers send them within seconds.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from paycombat_gateway.commands import open_context, positive_int

__all__ = ["register"]


def _list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from paycombat_gateway.storage.models import Installation, OutboxReport
    from paycombat_gateway.storage.outbox import REPORT_OWED, REPORT_PARKED

    state_words = {REPORT_OWED: "owed", REPORT_PARKED: "parked"}
    states = (REPORT_PARKED,) if args.parked else (REPORT_OWED, REPORT_PARKED)
    ctx = open_context(migrate_it=False)
    try:
        with ctx.database.session(readonly=True) as session:
            rows = session.execute(
                select(OutboxReport, Installation.saleor_api_url)
                .join(Installation, Installation.id == OutboxReport.installation_id)
                .where(OutboxReport.state.in_(states))
                .order_by(OutboxReport.created_at, OutboxReport.id)
                .limit(args.limit)
            ).all()
            for report, saleor_api_url in rows:
                amount = (
                    f"{report.amount} {report.currency}" if report.amount is not None else report.currency
                )
                print(
                    f"{report.id}  {state_words[report.state]}  {report.event_type}  {amount}  "
                    f"pspReference {report.psp_reference}  attempts {report.attempts}"
                )
                print(f"    {saleor_api_url}, since {report.created_at:%Y-%m-%d %H:%M} UTC")
                if report.state == REPORT_OWED:
                    print(f"    next attempt {report.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC")
                if report.last_error:
                    print(f"    last error: {report.last_error[:300]}")
    finally:
        ctx.close()
    if not rows:
        print("No parked reports." if args.parked else "Nothing owed to Saleor: every report was delivered.")
    elif len(rows) == args.limit:
        print(f"(the first {args.limit}; --limit shows more)")
    return 0


def _retry(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from paycombat_gateway.storage.models import Installation, OutboxReport
    from paycombat_gateway.storage.outbox import REPORT_DELIVERED, REPORT_PARKED, retry_report

    if (args.report_id is None) == (not args.parked):
        print("paycombat-gateway outbox retry: give REPORT_ID or --parked (one of them)", file=sys.stderr)
        return 2
    ctx = open_context(migrate_it=True)
    retried: list[int] = []
    left: list[int] = []
    try:
        with ctx.database.session() as session:
            query = select(OutboxReport, Installation.uninstalled_at).join(
                Installation, Installation.id == OutboxReport.installation_id
            )
            query = (
                query.where(OutboxReport.state == REPORT_PARKED)
                if args.parked
                else query.where(OutboxReport.id == args.report_id)
            )
            rows = session.execute(query.order_by(OutboxReport.id)).all()
            if not args.parked and not rows:
                print(
                    f"paycombat-gateway outbox retry: no report {args.report_id} (see outbox list)",
                    file=sys.stderr,
                )
                return 2
            for report, uninstalled_at in rows:
                if report.state == REPORT_DELIVERED:
                    print(
                        f"paycombat-gateway outbox retry: Saleor already has report {report.id}",
                        file=sys.stderr,
                    )
                    return 2
                if uninstalled_at is not None:  # no token to send it with: it would be parked again at once
                    if not args.parked:
                        print(
                            f"paycombat-gateway outbox retry: report {report.id} stays parked: its Saleor "
                            "uninstalled the app; retry it after the app is installed again",
                            file=sys.stderr,
                        )
                        return 2
                    left.append(report.id)
                    continue
                retry_report(session, report.id)
                retried.append(report.id)
    finally:
        ctx.close()
    if retried:
        print(
            f"Due now: report(s) {', '.join(map(str, retried))}; the running app sends them within seconds."
        )
    elif not left:
        print("No parked reports.")
    if left:
        print(
            f"Left parked: report(s) {', '.join(map(str, left))}, their Saleor uninstalled the app; "
            "retry them after it installs the app again."
        )
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "outbox",
        help="reports owed to Saleor: list them, retry parked ones",
        description="The transactionEventReport calls owed to Saleor, in the database chosen by DATABASE_URL "
        "(default: the SQLite file in DATA_DIR): run it with the same settings as serve.",
    )
    commands = parser.add_subparsers(dest="outbox_command", required=True, metavar="list|retry")
    listing = commands.add_parser("list", help="reports not yet delivered: owed (retried) and parked")
    listing.add_argument(
        "--parked", action="store_true", help="only the parked ones (default: owed and parked)"
    )
    listing.add_argument(
        "--limit", type=positive_int, default=200, help="show at most this many (default: 200)"
    )
    listing.set_defaults(handler=_list)
    retry = commands.add_parser("retry", help="send a report (or every parked one) again now")
    retry.add_argument(
        "report_id", metavar="REPORT_ID", type=int, nargs="?", help="the report's id, from outbox list"
    )
    retry.add_argument(
        "--parked", action="store_true", help="every parked report instead of one (default: off)"
    )
    retry.set_defaults(handler=_retry)
