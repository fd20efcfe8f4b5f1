"""``paycombat-gateway sign``: the signature PayCombat expects for a JSON body.

The tool a merchant needs when PayCombat answers "invalid signature": it shows the exact string that
is signed (``--show-string``), which is the body re-serialised the way JavaScript's JSON.stringify
writes it, so a difference in spacing, escaping or number format becomes visible.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from decimal import Decimal
from typing import Any

from paycombat_gateway.paycombat.signing import js_stringify, sign_body

__all__ = ["register"]


def _sign(args: argparse.Namespace) -> int:
    key = args.key or os.environ.get("PAYCOMBAT_SIGNATURE_KEY", "")
    if not key:
        print("paycombat-gateway sign: give --key or set PAYCOMBAT_SIGNATURE_KEY", file=sys.stderr)
        return 2
    try:
        if args.file == "-":
            raw = sys.stdin.read()
        else:
            with open(args.file, encoding="utf-8") as handle:
                raw = handle.read()
    except OSError as exc:
        print(f"paycombat-gateway sign: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        body = json.loads(raw, parse_float=Decimal)
    except ValueError as exc:
        print(f"paycombat-gateway sign: the body is not valid JSON ({exc})", file=sys.stderr)
        return 2
    signed = sign_body(body, key)
    print(signed.signature)
    if args.show_string:
        print(signed.payload.decode("utf-8"))
    if raw.strip() != js_stringify(body):
        print(
            "note: the input was re-serialised the JavaScript way before signing; send exactly the signed string",
            file=sys.stderr,
        )
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sign",
        help="print the PayCombat signature of a JSON body",
        description="Print HMAC-SHA256 (hex) of the body as JavaScript's JSON.stringify writes it, keyed with "
        "the signature key. A key given with --key lands in your shell history: prefer PAYCOMBAT_SIGNATURE_KEY.",
    )
    parser.add_argument(
        "file", nargs="?", default="-", metavar="FILE|-", help="JSON body (default: standard input)"
    )
    parser.add_argument("--key", help="signature key (default: $PAYCOMBAT_SIGNATURE_KEY)")
    parser.add_argument(
        "--show-string",
        action="store_true",
        help="also print the exact string that was signed (default: off)",
    )
    parser.set_defaults(handler=_sign)
