"""``paycombat-gateway reconcile [--since DURATION] [--dry-run]``: one reconciliation pass, now.

Looks up at PayCombat every open payment (created within ``--since``, all by default), whatever its
place in the reconciler's schedule, and prints what it found for each. Without ``--dry-run`` what
PayCombat shows is recorded and reported to Saleor exactly as the running reconciler would (the
instances' own outbox workers deliver the reports). Safe while instances run: payments another
instance is looking at are skipped.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import timedelta
from typing import Any

__all__ = ["parse_duration", "register"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``2h``, ``7d``, ``1w``, or combined (``1h30m``); ``argparse`` shows the error."""
    compact = text.strip().lower().replace(" ", "")
    parts = _DURATION.findall(compact)
    if not compact or "".join(number + unit for number, unit in parts) != compact:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90s, 30m, 2h, 7d, 1h30m)")
    seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"a duration above zero, not {text!r}")
    return timedelta(seconds=seconds)


def _reconcile(args: argparse.Namespace) -> int:
    from paycombat_gateway.background.reconciler import Reconciler
    from paycombat_gateway.commands import open_context
    from paycombat_gateway.storage.db import StorageUnavailable

    ctx = open_context(migrate_it=not args.dry_run)  # the database serve uses, never a new one
    counts: dict[str, int] = {}
    try:
        for finding in Reconciler(ctx).run_pass(since=args.since, dry_run=args.dry_run):
            print(finding.line(), flush=True)
            counts[finding.tally] = counts.get(finding.tally, 0) + 1
    except StorageUnavailable:
        print("paycombat-gateway reconcile: the database is not answering", file=sys.stderr)
        return 1
    finally:
        ctx.close()
    looked = sum(counts.values())
    summary = ", ".join(f"{count} {kind}" for kind, count in sorted(counts.items())) or "nothing open"
    print(f"{'dry run: ' if args.dry_run else ''}{looked} payment(s) looked up: {summary}")
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "reconcile",
        help="look up open payments at PayCombat now and report what it shows",
        description="One reconciliation pass now: every open payment (created within --since) is looked "
        "up at PayCombat; paid or failed ones are reported to Saleor once, as if the webhook had come.",
    )
    parser.add_argument(
        "--since", type=parse_duration, default=None, metavar="DURATION",
        help="only payments created within this long (e.g. 30m, 2h, 7d); default: every open payment",
    )  # fmt: skip
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="look up and print, but record and report nothing (default: off)",
    )
    parser.set_defaults(handler=_reconcile)
