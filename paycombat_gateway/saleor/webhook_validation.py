"""Validating a Saleor webhook request, in the fixed order Saleor's own SDK uses (contract §3.3).

Method, headers, event name, signature presence and body shape are checked first (405/400); then the
installation must be known and not uninstalled (401); then the JWS must verify over the raw bytes (401); then the payload
must be addressed to this installation's app (403). Nothing is written before all of that passed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from paycombat_gateway.saleor.errors import SaleorProtocolError
from paycombat_gateway.saleor.jws import (
    SignatureVerificationError,
    has_kid,
    signature_kid,
    verify_detached_jws,
)
from paycombat_gateway.saleor.webhooks import SaleorWebhook

__all__ = ["InstallationKeys", "VerifiedWebhook", "validate_webhook"]


@dataclass(frozen=True, slots=True)
class InstallationKeys:
    """What verification needs to know about an installation."""

    installation_id: int
    app_id: str
    jwks: str | None
    uninstalled: bool = False  # Saleor deleted the app (or an operator purged it): refused until reinstalled


@dataclass(frozen=True, slots=True)
class VerifiedWebhook:
    webhook: SaleorWebhook
    saleor_api_url: str
    installation: InstallationKeys
    payload: BaseModel


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name) or headers.get(name.lower())
    return value.strip() if value and value.strip() else None


def validate_webhook(
    *,
    method: str,
    headers: Mapping[str, str],
    raw_body: bytes,
    webhook: SaleorWebhook,
    lookup: Callable[[str], InstallationKeys | None],
    current_keys: Callable[[str, str | None], str | None],
) -> VerifiedWebhook:
    """A verified, typed webhook, or ``SaleorProtocolError`` with the status to answer.

    ``current_keys(saleor_api_url, kid)`` is asked for Saleor's current JWKS only when the installation's
    known one lacks the signature's ``kid`` (see ``jwks_refresh``)."""
    if method.upper() != "POST":
        raise SaleorProtocolError(405, "WRONG_METHOD", "Saleor webhooks are POST requests.")
    saleor_api_url = _header(headers, "saleor-api-url")
    event = _header(headers, "saleor-event")
    signature = _header(headers, "saleor-signature")
    if saleor_api_url is None:
        raise SaleorProtocolError(400, "MISSING_HEADER", "Missing Saleor-Api-Url header.")
    if event is None:
        raise SaleorProtocolError(400, "MISSING_HEADER", "Missing Saleor-Event header.")
    if event.lower() != webhook.event.header_value:
        raise SaleorProtocolError(
            400, "WRONG_EVENT", f"Expected event {webhook.event.header_value}, got {event[:64]}."
        )
    if signature is None:
        raise SaleorProtocolError(400, "MISSING_HEADER", "Missing Saleor-Signature header.")
    if not raw_body:
        raise SaleorProtocolError(400, "CANT_BE_PARSED", "The request body is empty.")
    try:
        body: Any = json.loads(raw_body, parse_float=Decimal)
    except (ValueError, RecursionError):
        raise SaleorProtocolError(400, "CANT_BE_PARSED", "The request body is not JSON.") from None
    if not isinstance(body, dict):
        raise SaleorProtocolError(400, "CANT_BE_PARSED", "The request body is not a JSON object.")
    installation = lookup(saleor_api_url)
    if installation is None:
        raise SaleorProtocolError(401, "NOT_REGISTERED", "This Saleor has not installed the app.")
    if installation.uninstalled:
        raise SaleorProtocolError(
            401, "APP_UNINSTALLED", "The app was uninstalled from this Saleor; install it again to use it."
        )
    try:
        kid = signature_kid(signature)
        known = installation.jwks
        verify_detached_jws(
            signature, raw_body, known if has_kid(known, kid) else current_keys(saleor_api_url, kid)
        )
    except SignatureVerificationError as exc:
        raise SaleorProtocolError(
            401, "SIGNATURE_VERIFICATION_FAILED", f"Signature verification failed: {exc}"
        ) from None
    recipient = body.get("recipient")
    recipient_id = recipient.get("id") if isinstance(recipient, dict) else None
    if recipient_id != installation.app_id:
        raise SaleorProtocolError(
            403, "RECIPIENT_MISMATCH", "The webhook is addressed to another installation of the app."
        )
    try:
        payload = webhook.payload_model.model_validate(body)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(part) for part in error["loc"]) for error in exc.errors()[:5])
        raise SaleorProtocolError(
            400, "CANT_BE_PARSED", f"The payload misses or mistypes: {fields}."
        ) from None
    return VerifiedWebhook(webhook, saleor_api_url, installation, payload)
