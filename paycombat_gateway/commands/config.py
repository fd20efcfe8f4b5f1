"""``paycombat-gateway config add|list``: PayCombat configurations without the Dashboard.

For automation and for the first setup: stores the keys encrypted, maps channels, and prints the
webhook URL to paste into PayCombat's Integration Details. Secrets are never printed back, and need
not be typed on the command line: they can come from the environment or a prompt. Channels follow the
settings page's rules (``gateway.channel_choice``): they must exist in the Saleor, and one another
configuration holds moves only with ``--move-channels``.

Both commands say which database they read, and neither creates one: a database that does not exist
means they were started with other settings than ``serve`` (another folder, another DATA_DIR).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from paycombat_gateway.commands import open_context

__all__ = ["register"]

# (option, environment variable, prompt) for each secret config add needs
SECRETS = {
    "x_token": ("--x-token", "PAYCOMBAT_X_TOKEN", "PayCombat X-token: "),
    "signature_key": ("--signature-key", "PAYCOMBAT_SIGNATURE_KEY", "PayCombat signature key: "),
}


def _secret(args: argparse.Namespace, name: str) -> str | None:
    """A secret from its option, else its environment variable, else a prompt that does not echo."""
    option, variable, prompt = SECRETS[name]
    value: str = getattr(args, name) or os.environ.get(variable, "").strip()
    if not value and sys.stdin.isatty():
        value = getpass.getpass(prompt).strip()
    if not value:
        print(
            f"paycombat-gateway config add: give {option}, set {variable}, or run it in a terminal to be asked",
            file=sys.stderr,
        )
        return None
    return value


def _check_channels(ctx: Any, args: argparse.Namespace) -> tuple[int, list[str]]:
    """(exit code, warnings): 0 when ``--channel`` may be mapped; the problems are printed."""
    from paycombat_gateway.gateway import channel_choice
    from paycombat_gateway.storage.installations import get_installation

    with ctx.database.session(readonly=True) as session:
        installation = get_installation(session, args.saleor_api_url)
        if installation is None:
            return 0, []  # said by the caller
        holders = channel_choice.channel_holders(session, installation.id)
        session.expunge(installation)
    try:
        known = channel_choice.saleor_channels(ctx, installation)
    except channel_choice.ChannelsUnavailable as exc:
        print(f"paycombat-gateway config add: --channel: {exc.message} Nothing was saved.", file=sys.stderr)
        return 1, []
    problems = channel_choice.check_channel_choice(
        holders, known, None, args.channel, move=args.move_channels
    )
    for problem in problems:
        how = " (pass --move-channels to move it)" if problem.code == "TAKEN" else ""
        print(f"paycombat-gateway config add: --channel: {problem.message}{how}", file=sys.stderr)
    warnings = [
        warning
        for channel in known
        if channel.slug in args.channel and (warning := channel_choice.currency_warning(channel, None))
    ]
    return (2 if problems else 0), warnings


def _add(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import IntegrityError

    from paycombat_gateway.gateway.api_urls import api_url_problem
    from paycombat_gateway.gateway.errors import PaymentError
    from paycombat_gateway.gateway.storefront_data import validate_return_url
    from paycombat_gateway.settings import Settings
    from paycombat_gateway.storage.configs import create_config, map_channels
    from paycombat_gateway.storage.installations import get_installation

    if args.redirect_url:
        try:
            validate_return_url(args.redirect_url, "--redirect-url")
        except PaymentError as exc:
            print(f"paycombat-gateway config add: {exc.message}", file=sys.stderr)
            return 2
    problem = api_url_problem(Settings.from_env(), args.api_url) if args.api_url else None
    if problem is not None:
        print(f"paycombat-gateway config add: --api-url is not allowed: {problem}", file=sys.stderr)
        return 2
    x_token, signature_key = _secret(args, "x_token"), _secret(args, "signature_key")
    if x_token is None or signature_key is None:
        return 2
    ctx = open_context(migrate_it=True)
    try:
        refused, warnings = _check_channels(ctx, args)
        if refused:
            return refused
        with ctx.database.session() as session:
            installation = get_installation(session, args.saleor_api_url)
            if installation is None:
                print(
                    f"paycombat-gateway config add: no installation for {args.saleor_api_url}; install the app in "
                    "that Saleor first (Dashboard > Apps > Install from manifest URL).",
                    file=sys.stderr,
                )
                return 2
            config = create_config(
                session,
                ctx.box,
                installation_id=installation.id,
                name=args.name,
                x_token=x_token,
                signature_key=signature_key,
                environment=args.environment,
                api_url=args.api_url,
                redirect_url=args.redirect_url,
                allow_unsigned_webhooks=args.allow_unsigned_webhooks,
            )
            map_channels(session, installation.id, config.id, args.channel)
            config_id = config.id
    except IntegrityError:
        print(
            f"paycombat-gateway config add: a configuration named {args.name!r} already exists",
            file=sys.stderr,
        )
        return 2
    finally:
        ctx.close()
    print(f"id: {config_id}")
    print(f"webhook URL: {ctx.paycombat_webhook_url(config_id)}")
    print("Paste the webhook URL into PayCombat > Setting > Integration Details.")
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    _warn_without_app_url(ctx.settings.app_url)
    return 0


def _warn_without_app_url(app_url: str) -> None:
    if not os.environ.get("APP_URL", "").strip():
        print(
            f"warning: APP_URL is not set, so the webhook URL assumes the app at {app_url}; set APP_URL to the "
            "URL serve runs at (the one in its manifest) and run `config list` to see the right one",
            file=sys.stderr,
        )


def _list(args: argparse.Namespace) -> int:
    from paycombat_gateway.storage.configs import list_configs, mapped_channels
    from paycombat_gateway.storage.installations import list_installations

    ctx = open_context(migrate_it=False)
    shown = 0
    try:
        with ctx.database.session(readonly=True) as session:
            installations = [
                installation
                for installation in list_installations(session)
                if not args.saleor_api_url or installation.saleor_api_url == args.saleor_api_url
            ]
            for installation in installations:
                print(f"{installation.saleor_api_url} (app {installation.app_id})")
                configs = list_configs(session, installation.id)
                if not configs:
                    print("  no PayCombat configuration yet")
                for config in configs:
                    shown += 1
                    channels = ", ".join(mapped_channels(session, config.id)) or "-"
                    source = "this configuration" if config.api_url else "PAYCOMBAT_API_URL"
                    print(f"  {config.id}  {config.name}  [{config.environment}]  channels: {channels}")
                    print(
                        f"    X-token: ****{config.x_token_hint}  signature key: ****{config.signature_key_hint}"
                    )
                    print(f"    PayCombat API: {ctx.paycombat.base_url_for(config)} (from {source})")
                    print(f"    webhook URL: {ctx.paycombat_webhook_url(config.id)}")
    finally:
        ctx.close()
    if not installations:
        which = f"{args.saleor_api_url} has not" if args.saleor_api_url else "no Saleor has"
        print(
            f"Nothing configured: {which} installed the app yet. Install it from "
            f"{ctx.settings.app_url}/api/manifest (Dashboard > Apps > Install external app), then add a "
            "configuration with `paycombat-gateway config add`."
        )
    elif not shown:
        print("Add one with: paycombat-gateway config add --saleor-api-url URL --name NAME --channel SLUG")
    if shown:
        _warn_without_app_url(ctx.settings.app_url)
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "config",
        help="manage PayCombat configurations (the database serve uses)",
        description="PayCombat configurations and channel mappings, in the database chosen by DATABASE_URL "
        "(default: the SQLite file in DATA_DIR, default ./data): run it with the same settings as serve.",
    )
    commands = parser.add_subparsers(dest="config_command", required=True, metavar="add|list")
    add = commands.add_parser(
        "add",
        help="store a PayCombat key pair and map channels to it",
        description="Store a PayCombat key pair (encrypted with APP_SECRET_KEY) for an installed Saleor and "
        "map channels to it; prints the webhook URL to paste into PayCombat. The keys are read from "
        "--x-token/--signature-key, else PAYCOMBAT_X_TOKEN/PAYCOMBAT_SIGNATURE_KEY, else asked for (not "
        "echoed), so they need not sit in your shell history.",
    )
    add.add_argument(
        "--saleor-api-url",
        required=True,
        help="the installation's Saleor API URL, e.g. https://shop.example.com/graphql/ (required)",
    )
    add.add_argument("--name", required=True, help="a name for this configuration, unique (required)")
    add.add_argument(
        "--x-token", help="PayCombat X-token (default: $PAYCOMBAT_X_TOKEN, else asked for without echo)"
    )
    add.add_argument(
        "--signature-key",
        help="PayCombat signature key (default: $PAYCOMBAT_SIGNATURE_KEY, else asked for without echo)",
    )
    add.add_argument(
        "--channel",
        action="append",
        required=True,
        help="channel slug of this Saleor (repeatable; at least one)",
    )
    add.add_argument(
        "--move-channels",
        action="store_true",
        help="take channels another configuration holds (default: off, such a channel is refused)",
    )
    add.add_argument(
        "--api-url", help="PayCombat base URL for this configuration (default: PAYCOMBAT_API_URL at run time)"
    )
    add.add_argument(
        "--environment",
        choices=["sandbox", "live"],
        default="sandbox",
        help="which PayCombat keys these are (default: sandbox)",
    )
    add.add_argument("--redirect-url", help="return URL when the storefront sends none (default: none)")
    add.add_argument(
        "--allow-unsigned-webhooks",
        action="store_true",
        help="accept webhooks without X-Signature, confirming each payin with Retrieve Payin first (default: off)",
    )
    add.set_defaults(handler=_add)
    listing = commands.add_parser(
        "list",
        help="show configurations (secrets masked)",
        description="Show each installation's configurations, channels, the PayCombat API URL the server "
        "calls and the webhook URL. Reads only: never creates or migrates a database.",
    )
    listing.add_argument("--saleor-api-url", help="only this installation (default: all)")
    listing.set_defaults(handler=_list)
