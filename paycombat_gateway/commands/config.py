"""``paycombat-gateway config add|list|edit|remove``: PayCombat configurations without the Dashboard.

For automation and for the first setup: stores the keys encrypted, maps channels, and prints the
webhook URL to paste into PayCombat's Integration Details. Secrets are never printed back, and need
not be typed on the command line: they can come from the environment or a prompt. Channels follow the
settings page's rules (``gateway.channel_choice``): they must exist in the Saleor, and one another
configuration holds moves only with ``--move-channels``.

``edit`` applies the settings page's checks (``check_configuration``, the API URL rules, the channel rules)
and prints what it changed; ``remove`` deletes a configuration no payment names and otherwise disables it
(keys wiped, channels unmapped, payments kept), and refuses while a payment on it can still be completed.
Every command says which database it reads, and none
creates one: a database that does not exist means it was started with other settings than ``serve``
(another folder, another DATA_DIR).
"""

from __future__ import annotations

import argparse
import asyncio
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


def _check_channels(
    ctx: Any, args: argparse.Namespace, *, command: str = "add", config_id: str | None = None
) -> tuple[int, list[str]]:
    """(exit code, warnings): 0 when ``--channel`` may be mapped (to ``config_id``, or a new
    configuration); the problems are printed."""
    from paycombat_gateway.gateway import channel_choice
    from paycombat_gateway.storage.installations import get_installation

    with ctx.database.session(readonly=True) as session:
        installation = get_installation(session, args.saleor_api_url)
        if installation is None or installation.uninstalled_at is not None:
            return 0, []  # said by the caller
        holders = channel_choice.channel_holders(session, installation.id)
        session.expunge(installation)
    if not channel_choice.new_slugs(holders, config_id, args.channel):
        return 0, []  # channels it holds already: no need to ask Saleor
    try:
        known = channel_choice.saleor_channels(ctx, installation)
    except channel_choice.ChannelsUnavailable as exc:
        print(
            f"paycombat-gateway config {command}: --channel: {exc.message} Nothing was saved.",
            file=sys.stderr,
        )
        return 1, []
    problems = channel_choice.check_channel_choice(
        holders, known, config_id, args.channel, move=args.move_channels
    )
    for problem in problems:
        how = " (pass --move-channels to move it)" if problem.code == "TAKEN" else ""
        print(f"paycombat-gateway config {command}: --channel: {problem.message}{how}", file=sys.stderr)
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
    problem = asyncio.run(api_url_problem(Settings.from_env(), args.api_url)) if args.api_url else None
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
            if installation is None or installation.uninstalled_at is not None:
                state = "no installation" if installation is None else "the app was uninstalled"
                print(
                    f"paycombat-gateway config add: {state} for {args.saleor_api_url}; install the app in "
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
                gone = installation.uninstalled_at
                print(
                    f"{installation.saleor_api_url} (app {installation.app_id})"
                    + (f", uninstalled {gone:%Y-%m-%d %H:%M} UTC" if gone else "")
                )
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


# check_configuration's field -> the option that sets it
OPTIONS = {
    "name": "--name", "environment": "--environment", "xToken": "--x-token", "signatureKey": "--signature-key",
    "apiUrl": "--api-url", "redirectUrl": "--redirect-url", "channels": "--channel",
}  # fmt: skip


def _refuse(command: str, message: str) -> int:
    print(f"paycombat-gateway config {command}: {message}", file=sys.stderr)
    return 2


def _edit_secret(value: str | None, prompt: str) -> str | None:
    """A new secret: the option's value, or asked for without echo when the option is ``-``."""
    if value == "-":
        return getpass.getpass(prompt).strip() if sys.stdin.isatty() else sys.stdin.readline().strip()
    return value


def _edit(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import IntegrityError

    from paycombat_gateway.gateway.api_urls import api_url_problem
    from paycombat_gateway.settings import Settings
    from paycombat_gateway.storage.configs import (
        SecretsRequired,
        map_channels,
        mapped_channels,
        unmap_channel,
        update_config,
    )
    from paycombat_gateway.storage.models import Installation, PaycombatConfig
    from paycombat_gateway.web.config_api.validation import check_configuration

    x_token = _edit_secret(args.x_token, SECRETS["x_token"][2])
    signature_key = _edit_secret(args.signature_key, SECRETS["signature_key"][2])
    fields: dict[str, object] = {}  # only what was given; '' clears the two URLs
    if args.name is not None:
        fields["name"] = args.name.strip()
    if args.environment is not None:
        fields["environment"] = args.environment
    if args.api_url is not None:
        fields["api_url"] = args.api_url.strip() or None
    if args.redirect_url is not None:
        fields["redirect_url"] = args.redirect_url.strip() or None
    if args.allow_unsigned_webhooks is not None:
        fields["allow_unsigned_webhooks"] = args.allow_unsigned_webhooks
    if not fields and not x_token and not signature_key and args.channel is None:
        return _refuse("edit", "nothing to change: give at least one option (see --help)")
    problems = check_configuration(
        name=args.name, environment=args.environment, x_token=x_token, signature_key=signature_key,
        api_url=args.api_url, redirect_url=args.redirect_url, allowed_payin_methods=None,
        channels=args.channel, creating=False,
    )  # fmt: skip
    if problems:
        return _refuse("edit", "; ".join(f"{OPTIONS.get(p.field, p.field)}: {p.message}" for p in problems))
    if (
        args.api_url
        and (problem := asyncio.run(api_url_problem(Settings.from_env(), args.api_url.strip()))) is not None
    ):
        return _refuse("edit", f"--api-url is not allowed: {problem}")
    ctx = open_context(migrate_it=True)
    try:
        with ctx.database.session(readonly=True) as session:
            config = session.get(PaycombatConfig, args.config_id)
            installation = session.get(Installation, config.installation_id) if config is not None else None
            if config is None or installation is None:
                return _refuse("edit", f"no configuration {args.config_id} (see config list)")
            if config.disabled_at is not None or installation.uninstalled_at is not None:
                return _refuse(
                    "edit", f"configuration {args.config_id} was removed; add a new one with config add"
                )
            args.saleor_api_url = installation.saleor_api_url
        if args.channel is not None:
            refused, warnings = _check_channels(ctx, args, command="edit", config_id=args.config_id)
            if refused:
                return refused
        else:
            warnings = []
        with ctx.database.session() as session:
            config = session.get(PaycombatConfig, args.config_id)
            assert config is not None
            before = {name: getattr(config, name) for name in fields}
            held = mapped_channels(session, config.id)
            try:
                update_config(
                    session, ctx.box, config, x_token=x_token, signature_key=signature_key, **fields
                )
            except SecretsRequired:
                return _refuse("edit", "--api-url: a new API URL needs --x-token and --signature-key again")
            if args.channel is not None:
                for slug in set(held) - set(args.channel):
                    unmap_channel(session, config.installation_id, slug)
                map_channels(session, config.installation_id, config.id, args.channel)
            changes = [
                f"{name.replace('_', ' ')}: {before[name]} -> {value}"
                for name, value in fields.items()
                if before[name] != value
            ]
            if x_token:
                changes.append(f"X-token: replaced (now ****{config.x_token_hint})")
            if signature_key:
                changes.append(f"signature key: replaced (now ****{config.signature_key_hint})")
            now_held = mapped_channels(session, config.id)
            if args.channel is not None and now_held != held:
                changes.append(f"channels: {', '.join(held) or '-'} -> {', '.join(now_held) or '-'}")
            name = config.name
    except IntegrityError:
        return _refuse("edit", f"a configuration named {args.name!r} already exists")
    finally:
        ctx.close()
    print(f"Configuration {name} ({args.config_id}): " + ("nothing changed" if not changes else "changed"))
    for change in changes:
        print(f"  {change}")
    if changes:
        print("Running instances use it within seconds.")
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _remove(args: argparse.Namespace) -> int:
    from paycombat_gateway.storage.configs import OpenPaymentsBlockRemoval, remove_config
    from paycombat_gateway.storage.models import PaycombatConfig

    ctx = open_context(migrate_it=True)
    try:
        with ctx.database.session() as session:
            config = session.get(PaycombatConfig, args.config_id)
            if config is None or config.disabled_at is not None:
                return _refuse("remove", f"no configuration {args.config_id} in use (see config list)")
            name = config.name
            outcome, channels = remove_config(session, config)
    except OpenPaymentsBlockRemoval as refusal:
        return _refuse("remove", f"configuration {args.config_id} not removed: {refusal}")
    finally:
        ctx.close()
    if outcome == "deleted":
        print(f"Configuration {name} ({args.config_id}) deleted with its PayCombat keys.")
    else:
        print(
            f"Configuration {name} ({args.config_id}) disabled: its PayCombat keys are wiped; its payments are "
            "kept for the books, so the row stays."
        )
    print(f"Channels that no longer offer PayCombat: {', '.join(channels) or 'none'}.")
    print("Its PayCombat webhook URL now answers 404; remove it from PayCombat's Integration Details too.")
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "config",
        help="manage PayCombat configurations (the database serve uses)",
        description="PayCombat configurations and channel mappings, in the database chosen by DATABASE_URL "
        "(default: the SQLite file in DATA_DIR, default ./data): run it with the same settings as serve.",
    )
    commands = parser.add_subparsers(dest="config_command", required=True, metavar="add|list|edit|remove")
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
    edit = commands.add_parser(
        "edit",
        help="change a configuration (the settings page's checks)",
        description="Change a configuration's options; what is not given stays. New keys are given with "
        "--x-token/--signature-key, or '-' to be asked without echo; a new --api-url needs both again. "
        "--channel (repeatable) replaces the channels it holds. Prints what changed, never a key.",
    )
    edit.add_argument("config_id", metavar="CONFIG_ID", help="the configuration's id, from config list")
    edit.add_argument(
        "--name", help="a new name, unique among the installation's configurations (default: unchanged)"
    )
    edit.add_argument(
        "--x-token", help="a new PayCombat X-token, '-' to be asked without echo (default: unchanged)"
    )
    edit.add_argument(
        "--signature-key",
        help="a new PayCombat signature key, '-' to be asked without echo (default: unchanged)",
    )
    edit.add_argument(
        "--channel",
        action="append",
        help="channel slug (repeatable): the channels it holds afterwards (default: unchanged)",
    )
    edit.add_argument(
        "--move-channels",
        action="store_true",
        help="take channels another configuration holds (default: off)",
    )
    edit.add_argument(
        "--api-url", help="PayCombat base URL, '' for PAYCOMBAT_API_URL at run time (default: unchanged)"
    )
    edit.add_argument(
        "--environment",
        choices=["sandbox", "live"],
        help="which PayCombat keys these are (default: unchanged)",
    )
    edit.add_argument(
        "--redirect-url", help="return URL when the storefront sends none, '' for none (default: unchanged)"
    )
    edit.add_argument(
        "--allow-unsigned-webhooks",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="accept webhooks without X-Signature, confirming each payin first; --no-... turns it off "
        "(default: unchanged)",
    )
    edit.set_defaults(handler=_edit)
    remove = commands.add_parser(
        "remove",
        help="delete a configuration (disable it when payments name it)",
        description="Delete a configuration and its keys; one that payments name is disabled instead (keys "
        "wiped, channels unmapped, the row kept for the books). Its channels stop offering PayCombat at once. "
        "Refused while a payment on it is open and unexpired: unmap its channels, let those settle or expire.",
    )
    remove.add_argument("config_id", metavar="CONFIG_ID", help="the configuration's id, from config list")
    remove.set_defaults(handler=_remove)
