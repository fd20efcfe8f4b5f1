"""``paycombat-gateway sandbox``: a local PayCombat (API, hosted checkout page, signed webhooks).

For a developer's own machine and tests only: it moves no money, its ``/_sandbox/`` API needs no
credentials, and it is not hardened. Point ``PAYCOMBAT_API_URL`` at the URL it prints.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from paycombat_gateway.sandbox.accounts import DEV_SIGNATURE_KEY, DEV_X_TOKEN  # two constants, light

if TYPE_CHECKING:  # the sandbox is imported only when the command runs, to keep the CLI quick
    from paycombat_gateway.sandbox.accounts import SandboxAccount

__all__ = ["DEV_SIGNATURE_KEY", "DEV_X_TOKEN", "accounts_from", "register"]

DESCRIPTION = """\
A local PayCombat for development and tests, like stripe-mock for Stripe: the same /api/v1/...
paths and envelopes, X-token and signature checked, a hosted checkout page at the checkout_url it
returns, and signed PAYIN webhooks retried with backoff. Point PAYCOMBAT_API_URL at the printed URL.

LOCAL USE ONLY: no money moves, the /_sandbox/ API (settle, deliveries, dropped webhooks, faults,
accounts) needs no credentials, and nothing here is hardened. Keep it on 127.0.0.1.

Accounts: --x-token/--signature-key (or SANDBOX_X_TOKEN/SANDBOX_SIGNATURE_KEY) give the default one;
--account NAME:XTOKEN:KEY (repeatable, or SANDBOX_ACCOUNTS=NAME:XTOKEN:KEY,...) adds more. With none,
a development account with printed snd_ credentials is used.
"""


def accounts_from(args: argparse.Namespace, env: Mapping[str, str]) -> tuple[list[SandboxAccount], bool]:
    """The accounts the flags and environment ask for, and whether the development one was used.

    Raises ``ValueError`` with a reason when they are incomplete or malformed.
    """
    from paycombat_gateway.sandbox.accounts import SandboxAccount, parse_account_spec

    accounts: list[SandboxAccount] = []
    x_token = args.x_token or env.get("SANDBOX_X_TOKEN", "").strip()
    key = args.signature_key or env.get("SANDBOX_SIGNATURE_KEY", "").strip()
    if bool(x_token) != bool(key):
        raise ValueError(
            "give both --x-token and --signature-key (or SANDBOX_X_TOKEN and SANDBOX_SIGNATURE_KEY)"
        )
    if x_token and key:
        accounts.append(SandboxAccount(x_token=x_token, signature_key=key, name="default"))
    specs = list(args.account or [])
    specs += [spec for spec in env.get("SANDBOX_ACCOUNTS", "").split(",") if spec.strip()]
    accounts += [parse_account_spec(spec) for spec in specs]
    if accounts:
        return accounts, False
    return [SandboxAccount(x_token=DEV_X_TOKEN, signature_key=DEV_SIGNATURE_KEY, name="development")], True


def _delays(text: str) -> tuple[float, ...]:
    try:
        delays = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError("give seconds separated by commas, e.g. 1,5,30") from None
    if any(delay < 0 for delay in delays):
        raise argparse.ArgumentTypeError("delays cannot be negative")
    return delays


def _sandbox(args: argparse.Namespace) -> int:
    import uvicorn

    from paycombat_gateway.background_server import bind_problem, listening_socket
    from paycombat_gateway.sandbox.app import create_sandbox_app
    from paycombat_gateway.sandbox.core import SandboxConfig
    from paycombat_gateway.sandbox.dispatcher import DEFAULT_RETRY_DELAYS
    from paycombat_gateway.settings import port_number

    port_number("--port", args.port)  # one line (cli.main), not an OverflowError from the socket
    try:
        accounts, development = accounts_from(args, os.environ)
        app = create_sandbox_app(
            SandboxConfig(
                accounts=accounts,
                database=args.database,
                webhook_retry_delays=args.webhook_retry_delays or DEFAULT_RETRY_DELAYS,
            )
        )
    except ValueError as exc:
        print(f"paycombat-gateway sandbox: {exc}", file=sys.stderr)
        return 2
    try:  # connections queue from now on, so the URL printed below already answers
        sock = listening_socket(args.host, args.port)
    except OSError as exc:
        print(f"paycombat-gateway sandbox: {bind_problem(args.host, args.port, exc)}", file=sys.stderr)
        return 2
    host, port = sock.getsockname()[:2]
    if development:
        print("No account given: using the DEVELOPMENT account (sandbox only, never real PayCombat keys):")
        print(f"  X-token:       {DEV_X_TOKEN}")
        print(f"  signature key: {DEV_SIGNATURE_KEY}")
    names = ", ".join(account.name for account in accounts)
    print(f"Accounts: {names}")
    if host not in {"127.0.0.1", "::1", "localhost"}:
        print(f"WARNING: listening on {host}; the sandbox is for local use only and has no real security.")
    print(
        f"PayCombat sandbox on http://{host}:{port} (local use only; set PAYCOMBAT_API_URL to it)", flush=True
    )
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2))
    server.run(sockets=[sock])
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help="run a local PayCombat (API, hosted checkout page, signed webhooks); local use only",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8100, help="port to listen on (default 8100; 0 = any free)"
    )
    parser.add_argument("--x-token", help="X-token of the default account (or SANDBOX_X_TOKEN)")
    parser.add_argument(
        "--signature-key", help="signature key of the default account (or SANDBOX_SIGNATURE_KEY)"
    )
    parser.add_argument(
        "--account",
        action="append",
        metavar="NAME:XTOKEN:KEY",
        help="another account (repeatable; or SANDBOX_ACCOUNTS, comma-separated; default: none)",
    )
    parser.add_argument("--database", metavar="PATH", help="SQLite file to keep state in (default: memory)")
    parser.add_argument(
        "--webhook-retry-delays",
        type=_delays,
        metavar="SECONDS,...",
        help="seconds before each webhook retry (default 1,5,30,120,600)",
    )
    parser.set_defaults(handler=_sandbox)
