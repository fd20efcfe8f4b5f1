"""Where Saleor publishes its signing keys, and fetching them (on the event loop, by a deadline)."""

from __future__ import annotations

import json
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from paycombat_gateway.outbound import (
    JWKS_FETCH,
    MAX_JWKS_BYTES,
    AnswerTooLarge,
    Deadline,
    request_bounded,
)

__all__ = ["JwksUnavailable", "fetch_jwks", "jwks_url"]


class JwksUnavailable(Exception):
    pass


def jwks_url(saleor_api_url: str) -> str:
    """``<origin of the API URL>/.well-known/jwks.json``."""
    parts = urlsplit(saleor_api_url)
    return urlunsplit((parts.scheme, parts.netloc, "/.well-known/jwks.json", "", ""))


async def fetch_jwks(
    http: aiohttp.ClientSession, saleor_api_url: str, deadline: Deadline | None = None
) -> str:
    """The JWKS document as text (kept verbatim in storage); ``JwksUnavailable`` when Saleor does not
    hand over a key set within ``deadline`` (the whole answer, at most ``MAX_JWKS_BYTES``)."""
    url, deadline = jwks_url(saleor_api_url), deadline or JWKS_FETCH
    try:
        status, content = await request_bounded(http, "GET", url, deadline=deadline, limit=MAX_JWKS_BYTES)
    except TimeoutError:
        raise JwksUnavailable(f"{url} did not answer within {deadline.total:g} s") from None
    except (aiohttp.ClientError, AnswerTooLarge) as exc:
        raise JwksUnavailable(f"could not reach {url}: {type(exc).__name__}") from None
    if status != 200:
        raise JwksUnavailable(f"{url} answered HTTP {status}")
    try:
        text: str = content.decode()
        document = json.loads(text)
    except ValueError as exc:
        raise JwksUnavailable("the JWKS is not JSON") from exc
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JwksUnavailable("the JWKS has no keys")
    return text
