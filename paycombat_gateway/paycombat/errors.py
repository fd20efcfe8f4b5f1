"""One error hierarchy for everything that can go wrong talking to PayCombat.

Every error carries the HTTP status, PayCombat's ``message`` and the response body with secrets
removed, so support can see what PayCombat said without anyone seeing a key. ``str()`` of an error
never contains the X-token, the signature key or a checkout token.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = [
    "AuthenticationError",
    "ConnectionFailed",
    "InvalidRequestError",
    "MalformedResponseError",
    "NotFoundError",
    "PaycombatError",
    "RateLimitedError",
    "ServerError",
    "SignatureError",
    "TimeoutError",
    "scrub",
]

_SECRET_FIELDS = re.compile(
    r'("(?:checkout_token|x[-_]?token|signature|signature_key|token|identifier|account_number)"\s*:\s*")([^"]*)(")',
    re.IGNORECASE,
)
_SECRET_QUERY = re.compile(r"([?&](?:token|identifier)=)[^&\s\"']+", re.IGNORECASE)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without the given secrets, secret-named JSON fields or secret URL parameters."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    text = _SECRET_FIELDS.sub(r"\1[redacted]\3", text)
    return _SECRET_QUERY.sub(r"\1[redacted]", text)


class PaycombatError(Exception):
    """A PayCombat call failed. ``retryable`` says whether the same call may succeed later."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        paycombat_message: str | None = None,
        body: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.paycombat_message = paycombat_message
        self.body = body

    def __str__(self) -> str:
        status = f"HTTP {self.http_status}: " if self.http_status is not None else ""
        said = f" (PayCombat: {self.paycombat_message})" if self.paycombat_message else ""
        return f"{status}{self.message}{said}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": type(self).__name__,
            "message": self.message,
            "http_status": self.http_status,
            "paycombat_message": self.paycombat_message,
        }


class AuthenticationError(PaycombatError):
    """PayCombat refused the X-token or the signature (401/403)."""


class InvalidRequestError(PaycombatError):
    """PayCombat refused the request's content (400/409/422, or a 2xx with ``"status": false``)."""


class NotFoundError(PaycombatError):
    """The checkout, payin or path does not exist (404)."""


class RateLimitedError(PaycombatError):
    retryable = True


class ServerError(PaycombatError):
    """PayCombat failed (5xx)."""

    retryable = True


class MalformedResponseError(ServerError):
    """A response that is not the documented JSON envelope (not JSON, not an object, no ``status``)."""


class TimeoutError(PaycombatError):
    retryable = True


class ConnectionFailed(PaycombatError):
    retryable = True


class SignatureError(PaycombatError):
    """A webhook's ``X-Signature`` is missing or does not verify."""
