"""Installations (Saleor's APL): one row per Saleor API URL, token encrypted, JWKS cached."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from paycombat_gateway.storage.models import Installation
from paycombat_gateway.storage.secrets import SecretBox

__all__ = ["get_installation", "list_installations", "save_jwks", "upsert_installation"]


def get_installation(session: Session, saleor_api_url: str) -> Installation | None:
    return session.scalars(select(Installation).where(Installation.saleor_api_url == saleor_api_url)).first()


def list_installations(session: Session) -> list[Installation]:
    return list(session.scalars(select(Installation).order_by(Installation.id)))


def upsert_installation(
    session: Session, box: SecretBox, *, saleor_api_url: str, app_id: str, token: str, jwks: str | None
) -> Installation:
    """Create or replace the installation: a repeated install brings a new token and app id, which win;
    an installation that was uninstalled is in use again (with no configuration until one is added)."""
    installation = session.scalars(
        select(Installation).where(Installation.saleor_api_url == saleor_api_url).with_for_update()
    ).first()
    if installation is None:
        installation = Installation(
            saleor_api_url=saleor_api_url, app_id=app_id, token_encrypted="", jwks=jwks
        )
        session.add(installation)
    installation.app_id = app_id
    installation.token_encrypted = box.encrypt(token)
    installation.jwks = jwks
    installation.uninstalled_at = None  # a reinstall: its old configurations stay disabled
    session.flush()
    return installation


def save_jwks(session: Session, saleor_api_url: str, jwks: str) -> None:
    """Store the JWKS most recently fetched from this installation's Saleor."""
    installation = get_installation(session, saleor_api_url)
    if installation is not None and installation.jwks != jwks:
        installation.jwks = jwks
