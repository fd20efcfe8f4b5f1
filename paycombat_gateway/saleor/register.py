"""The install handshake (``POST /api/register``, contract §2.2), without the storage step.

Order matters and follows Saleor's SDK: headers and body, the allow-list (403), the token proven by
reading ``{ app { id } }`` (401), the JWKS fetched (401). The caller then upserts the installation.
Both calls are awaited on the event loop, each by its deadline (``outbound.SALEOR_INSTALL``,
``JWKS_FETCH``): a slow Saleor installing the app holds no thread.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import aiohttp

from paycombat_gateway.outbound import SALEOR_INSTALL
from paycombat_gateway.saleor.client import SaleorClient, SaleorError
from paycombat_gateway.saleor.errors import SaleorProtocolError
from paycombat_gateway.saleor.jwks import JwksUnavailable, fetch_jwks

__all__ = ["Registration", "register_app"]


@dataclass(frozen=True, slots=True)
class Registration:
    saleor_api_url: str
    app_id: str
    token: str = field(repr=False)
    jwks: str


async def register_app(
    *,
    method: str,
    headers: Mapping[str, str],
    raw_body: bytes,
    is_allowed: Callable[[str], bool],
    http: aiohttp.ClientSession,
) -> Registration:
    if method.upper() != "POST":
        raise SaleorProtocolError(405, "WRONG_METHOD", "Register with POST.")
    saleor_api_url = (headers.get("saleor-api-url") or "").strip()
    if not saleor_api_url:
        raise SaleorProtocolError(400, "MISSING_SALEOR_API_URL", "Missing Saleor-Api-Url header.")
    try:
        body = json.loads(raw_body)
    except ValueError:
        raise SaleorProtocolError(400, "INVALID_REQUEST_JSON", "Invalid request json.") from None
    token = body.get("auth_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise SaleorProtocolError(400, "MISSING_AUTH_TOKEN", "Missing auth token.")
    if not is_allowed(saleor_api_url):
        raise SaleorProtocolError(
            403,
            "SALEOR_URL_PROHIBITED",
            "This app does not accept installations from this Saleor (ALLOWED_SALEOR_URLS).",
        )
    try:
        app_id = await SaleorClient(
            saleor_api_url, token, http=http, deadline=SALEOR_INSTALL
        ).get_app_id_async()
    except SaleorError:
        raise SaleorProtocolError(
            401,
            "UNKNOWN_APP_ID",
            f"The auth token could not be used to read the app id from {saleor_api_url}.",
        ) from None
    try:
        jwks = await fetch_jwks(http, saleor_api_url)
    except JwksUnavailable as exc:
        raise SaleorProtocolError(
            401, "JWKS_NOT_AVAILABLE", f"Could not fetch Saleor's signing keys: {exc}"
        ) from None
    return Registration(saleor_api_url=saleor_api_url, app_id=app_id, token=token, jwks=jwks)
