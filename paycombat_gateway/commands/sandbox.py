"""``paycombat-gateway sandbox``: a local PayCombat for development (local use only: no real security)."""

from __future__ import annotations

import argparse
import os
from typing import Any

__all__ = ["register"]

DEV_X_TOKEN = "snd_dev_xtoken_local_only"
DEV_SIGNATURE_KEY = "snd_dev_signature_local_only"


def _accounts(args: argparse.Namespace) -> list[Any]:
    from paycombat_gateway.sandbox.accounts import SandboxAccount, parse_account_spec

    accounts: list[SandboxAccount] = []
    x_token = args.x_token or os.environ.get("SANDBOX_X_TOKEN")
    key = args.signature_key or os.environ.get("SANDBOX_SIGNATURE_KEY")
    if x_token and key:
        accounts.append(SandboxAccount(x_token=x_token, signature_key=key, name="default"))
    specs = list(args.account or [])
    specs += [spec for spec in os.environ.get("SANDBOX_ACCOUNTS", "").split(",") if spec.strip()]
    accounts += [parse_account_spec(spec.strip()) for spec in specs]
    if not accounts:
        print("No account given: using the development account (sandbox only, never real keys)")
        print(f"  X-token:       {DEV_X_TOKEN}")
        print(f"  signature key: {DEV_SIGNATURE_KEY}")
        accounts.append(SandboxAccount(x_token=DEV_X_TOKEN, signature_key=DEV_SIGNATURE_KEY, name="default"))
    return accounts


def _sandbox(args: argparse.Namespace) -> int:
    import uvicorn

    from paycombat_gateway.sandbox.app import SandboxConfig, create_sandbox_app

    try:
        accounts = _accounts(args)
    except ValueError as exc:
        print(f"paycombat-gateway sandbox: {exc}")
        return 2
    app = create_sandbox_app(SandboxConfig(accounts, args.database))
    print(
        f"PayCombat sandbox on http://{args.host}:{args.port} with {len(accounts)} account(s); local use only"
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help="run a local PayCombat (API, hosted checkout page, signed webhooks)",
        description="A local PayCombat for development and tests. Point PAYCOMBAT_API_URL at it. "
        "It is for local use only: it moves no money and is not hardened.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--x-token", help="X-token of the default account (or SANDBOX_X_TOKEN)")
    parser.add_argument(
        "--signature-key", help="signature key of the default account (or SANDBOX_SIGNATURE_KEY)"
    )
    parser.add_argument(
        "--account",
        action="append",
        metavar="NAME:XTOKEN:KEY",
        help="another account (repeatable; or SANDBOX_ACCOUNTS)",
    )
    parser.add_argument("--database", help="SQLite file to keep state in (default: memory)")
    parser.set_defaults(handler=_sandbox)
