"""``paycombat-gateway rotate-secrets``: re-encrypt every stored secret with the first APP_SECRET_KEY."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def _rotate(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from paycombat_gateway.settings import Settings
    from paycombat_gateway.storage.db import Database
    from paycombat_gateway.storage.models import Installation, PaycombatConfig
    from paycombat_gateway.storage.secrets import SecretBox

    settings = Settings.from_env()
    box = SecretBox.from_setting(settings.app_secret_key, settings.data_dir)
    database = Database.from_url(settings.resolved_database_url)
    with database.session() as session:
        installations = list(session.scalars(select(Installation)))
        for installation in installations:
            installation.token_encrypted = box.rotate(installation.token_encrypted)
        configs = list(session.scalars(select(PaycombatConfig)))
        for config in configs:
            config.x_token_encrypted = box.rotate(config.x_token_encrypted)
            config.signature_key_encrypted = box.rotate(config.signature_key_encrypted)
    print(f"re-encrypted {len(installations)} Saleor token(s) and {len(configs)} PayCombat configuration(s)")
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "rotate-secrets",
        help="re-encrypt stored secrets with the first key of APP_SECRET_KEY",
        description="Put the new key first in APP_SECRET_KEY (comma-separated, old key after it), run this, "
        "then remove the old key. All secrets are re-encrypted in one transaction.",
    )
    parser.set_defaults(handler=_rotate)
