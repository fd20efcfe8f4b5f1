"""Where Saleor publishes its signing keys, and fetching them."""

from __future__ import annotations

import json
from urllib.parse import urlsplit, urlunsplit

import requests

__all__ = ["JwksUnavailable", "fetch_jwks", "jwks_url"]


class JwksUnavailable(Exception):
    pass


def jwks_url(saleor_api_url: str) -> str:
    """``<origin of the API URL>/.well-known/jwks.json``."""
    parts = urlsplit(saleor_api_url)
    return urlunsplit((parts.scheme, parts.netloc, "/.well-known/jwks.json", "", ""))


def fetch_jwks(http: requests.Session, saleor_api_url: str, timeout: tuple[float, float] = (3, 10)) -> str:
    """The JWKS document as text (kept verbatim in storage)."""
    try:
        response = http.get(jwks_url(saleor_api_url), timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        raise JwksUnavailable(f"could not reach {jwks_url(saleor_api_url)}") from exc
    if response.status_code != 200:
        raise JwksUnavailable(f"{jwks_url(saleor_api_url)} answered HTTP {response.status_code}")
    try:
        document = json.loads(response.text)
    except ValueError as exc:
        raise JwksUnavailable("the JWKS is not JSON") from exc
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JwksUnavailable("the JWKS has no keys")
    return response.text
