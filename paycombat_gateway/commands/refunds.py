"""``paycombat-gateway refunds list|confirm|decline``: the refunds PayCombat leaves to the merchant.

PayCombat refunds only in its own dashboard, so every refund Saleor asks for waits here until the
merchant has carried it out (``confirm``, optionally with PayCombat's refund reference) or will not
(``decline --reason``). The running app reports the answer to Saleor from the outbox within seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from paycombat_gateway.commands import open_context

__all__ = ["register"]


def _as_json(refund: Any) -> dict[str, Any]:
    return {
        "id": refund.id,
        "amount": format(refund.amount, "f"),
        "currency": refund.currency,
        "state": refund.state,
        "payin_id": refund.payin_id,
        "checkout_id": refund.checkout_id,
        "source_type": refund.source_type,
        "source_id": refund.source_id,
        "order_number": refund.order_number,
        "saleor_transaction_id": refund.saleor_transaction_id,
        "channel": refund.channel,
        "requested_by": refund.requested_by,
        "requested_at": refund.requested_at.isoformat(),
        "paycombat_reference": refund.paycombat_reference,
        "decline_reason": refund.decline_reason,
        "decided_by": refund.decided_by,
        "decided_at": refund.decided_at.isoformat() if refund.decided_at else None,
    }


def _list(args: argparse.Namespace) -> int:
    from paycombat_gateway.gateway.refunds import list_refunds

    ctx = open_context(migrate_it=False)
    try:
        refunds = list_refunds(ctx, states=(args.state,) if args.state else None)
    finally:
        ctx.close()
    if args.json:
        print(json.dumps([_as_json(refund) for refund in refunds], indent=2, ensure_ascii=False))
        return 0
    if not refunds:
        print("No refunds." if args.state is None else f"No refunds {args.state}.")
        return 0
    for refund in refunds:
        where = (
            f"order #{refund.order_number}"
            if refund.order_number
            else f"{refund.source_type} {refund.source_id or '-'}"
        )
        print(
            f"{refund.id}  {refund.amount} {refund.currency}  {refund.state}  payin {refund.payin_id or '-'}"
        )
        print(f"    {where}, asked by {refund.requested_by} at {refund.requested_at:%Y-%m-%d %H:%M} UTC")
        if refund.state == "owed":
            for number, step in enumerate(refund.steps, start=1):
                print(f"    {number}. {step}")
        elif refund.state == "refunded":
            print(f"    refunded (reference {refund.paycombat_reference or 'none'}) by {refund.decided_by}")
        else:
            print(f"    declined by {refund.decided_by}: {refund.decline_reason}")
    return 0


def _decide(args: argparse.Namespace, confirming: bool) -> int:
    from paycombat_gateway.gateway.refunds import RefundError, confirm_refund, decline_refund

    ctx = open_context(migrate_it=True)
    command = "confirm" if confirming else "decline"
    try:
        if confirming:
            refund, changed = confirm_refund(ctx, args.refund_id, reference=args.reference, decided_by="cli")
        else:
            refund, changed = decline_refund(ctx, args.refund_id, reason=args.reason, decided_by="cli")
    except RefundError as exc:
        print(f"paycombat-gateway refunds {command}: {exc.message}", file=sys.stderr)
        return 2
    finally:
        ctx.close()
    event = "REFUND_SUCCESS" if confirming else "REFUND_FAILURE"
    if not changed:
        print(f"Refund {refund.id} was already marked {refund.state}; nothing new is reported to Saleor.")
        return 0
    print(f"Refund {refund.id} of {refund.amount} {refund.currency} marked {refund.state}.")
    print(f"Saleor gets {event} for it from the running app within seconds.")
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("refunds", help="refunds to carry out in PayCombat's dashboard")
    commands = parser.add_subparsers(dest="refunds_command", required=True, metavar="list|confirm|decline")
    listing = commands.add_parser(
        "list", help="refunds, those still owed first with the steps to carry them out"
    )
    listing.add_argument("--json", action="store_true", help="one JSON object per refund (default: text)")
    listing.add_argument(
        "--state", choices=["owed", "refunded", "declined"], help="only refunds in this state (default: all)"
    )
    listing.set_defaults(handler=_list)
    confirm = commands.add_parser("confirm", help="the refund was made in PayCombat: report REFUND_SUCCESS")
    confirm.add_argument("refund_id", metavar="REFUND_ID", help="the refund's id, from refunds list")
    confirm.add_argument(
        "--reference", metavar="REF", help="PayCombat's reference for the refund (default: none)"
    )
    confirm.set_defaults(handler=lambda args: _decide(args, True))
    decline = commands.add_parser("decline", help="the refund will not be made: report REFUND_FAILURE")
    decline.add_argument("refund_id", metavar="REFUND_ID", help="the refund's id, from refunds list")
    decline.add_argument("--reason", required=True, metavar="TEXT", help="why; Saleor shows it on the order")
    decline.set_defaults(handler=lambda args: _decide(args, False))
