"""``paycombat-gateway config add|list``: PayCombat configurations without the Dashboard.

For automation and for the first setup: stores the keys encrypted, maps channels, and prints the
webhook URL to paste into PayCombat's Integration Details. Secrets are never printed back. Channels
follow the settings page's rules (``gateway.channel_choice``): they must exist in the Saleor, and one
another configuration holds moves only with ``--move-channels``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register"]


def _open() -> Any:
    from paycombat_gateway.gateway.context import GatewayContext
    from paycombat_gateway.settings import Settings
    from paycombat_gateway.storage.migrate import migrate

    settings = Settings.from_env()
    migrate(settings.resolved_database_url)
    return GatewayContext.create(settings)


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
    ctx = _open()
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
                x_token=args.x_token,
                signature_key=args.signature_key,
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
    return 0


def _list(args: argparse.Namespace) -> int:
    from paycombat_gateway.storage.configs import list_configs, mapped_channels
    from paycombat_gateway.storage.installations import list_installations

    ctx = _open()
    try:
        with ctx.database.session() as session:
            for installation in list_installations(session):
                if args.saleor_api_url and installation.saleor_api_url != args.saleor_api_url:
                    continue
                print(f"{installation.saleor_api_url} (app {installation.app_id})")
                for config in list_configs(session, installation.id):
                    channels = ", ".join(mapped_channels(session, config.id)) or "-"
                    print(f"  {config.id}  {config.name}  [{config.environment}]  channels: {channels}")
                    print(
                        f"    X-token: ****{config.x_token_hint}  signature key: ****{config.signature_key_hint}"
                    )
                    print(f"    API: {config.api_url or ctx.settings.paycombat_api_url}")
                    print(f"    webhook URL: {ctx.paycombat_webhook_url(config.id)}")
    finally:
        ctx.close()
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("config", help="manage PayCombat configurations")
    commands = parser.add_subparsers(dest="config_command", required=True, metavar="add|list")
    add = commands.add_parser("add", help="store a PayCombat key pair and map channels to it")
    add.add_argument(
        "--saleor-api-url", required=True, help="the installation, e.g. https://shop.example.com/graphql/"
    )
    add.add_argument("--name", required=True)
    add.add_argument("--x-token", required=True)
    add.add_argument("--signature-key", required=True)
    add.add_argument(
        "--channel", action="append", required=True, help="channel slug of this Saleor (repeatable)"
    )
    add.add_argument(
        "--move-channels",
        action="store_true",
        help="take channels another configuration holds (refused otherwise)",
    )
    add.add_argument(
        "--api-url", help="PayCombat base URL for this configuration (default: PAYCOMBAT_API_URL)"
    )
    add.add_argument("--environment", choices=["sandbox", "live"], default="sandbox")
    add.add_argument("--redirect-url", help="default return URL when the storefront sends none")
    add.add_argument(
        "--allow-unsigned-webhooks",
        action="store_true",
        help="accept webhooks without X-Signature, confirming each payin with Retrieve Payin first",
    )
    add.set_defaults(handler=_add)
    listing = commands.add_parser("list", help="show configurations (secrets masked)")
    listing.add_argument("--saleor-api-url")
    listing.set_defaults(handler=_list)
