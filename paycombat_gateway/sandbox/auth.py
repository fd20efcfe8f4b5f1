"""Who is calling: the X-token picks the account, and on POST/PATCH the ``signature`` header must match.

PayCombat documents the signature as HMAC-SHA256 (lowercase hex) of ``JSON.stringify(body)`` keyed with
the account's signature key. A caller that sends exactly the compact bytes it signed matches on the raw
body; one whose HTTP library re-encoded the JSON (spaces, ``\\/``, ``\\uXXXX``) matches once the body
is parsed and re-serialised the JavaScript way, which is what PayCombat's server appears to do
(contract inference ``request_signature_check``). Both are accepted; nothing else is.
"""

from __future__ import annotations

from collections.abc import Mapping

from paycombat_gateway.paycombat.contract import Endpoint
from paycombat_gateway.paycombat.signing import verify_webhook_signature
from paycombat_gateway.sandbox.accounts import AccountBook, SandboxAccount
from paycombat_gateway.sandbox.errors import SandboxError

__all__ = ["authenticate", "signature_matches"]


def signature_matches(raw_body: bytes, signature: str | None, signature_key: str) -> bool:
    """True when ``signature`` signs ``raw_body`` or its JavaScript re-serialisation (constant time).

    PayCombat signs its webhooks with the very rule it checks requests with, so the webhook verifier
    is the request verifier too.
    """
    return verify_webhook_signature(raw_body, signature, signature_key)


def authenticate(
    accounts: AccountBook, endpoint: Endpoint, headers: Mapping[str, str], raw_body: bytes
) -> SandboxAccount:
    """The calling account, or a 401 ``SandboxError`` before anything is read or stored."""
    account = accounts.by_x_token(headers.get("x-token"))
    if account is None:
        raise SandboxError(401, "Unauthenticated: the X-token is missing or not valid")
    if endpoint.signed:
        signature = headers.get("signature")
        if not signature:
            raise SandboxError(401, "Unauthenticated: the signature header is missing")
        if not signature_matches(raw_body, signature, account.signature_key):
            raise SandboxError(401, "Unauthenticated: the signature does not match the body")
    return account
