"""The ``data`` a storefront passes to ``transactionInitialize`` / ``transactionProcess``, validated.

Saleor hands it through verbatim, so it is untrusted shopper input: every key is checked and every
problem comes back as a public ``INVALID_DATA`` / ``INVALID_RETURN_URL`` error naming the key.
``docs/storefront.md`` documents the keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from paycombat_gateway.gateway.errors import ErrorCode, PaymentError

__all__ = ["InitializeData", "ReturnUrls", "parse_initialize_data", "validate_return_url"]

_MAX_URL_LENGTH = 2048
_OUTCOMES = ("completed", "failed", "cancelled", "expired")
_KNOWN_KEYS = {"return_url", "return_urls", "payin_method", "bank"}


@dataclass(frozen=True, slots=True)
class ReturnUrls:
    """Where PayCombat sends the shopper back: one URL, or one per outcome."""

    redirect_url: str | None
    completed_url: str | None = None
    failed_url: str | None = None
    cancelled_url: str | None = None
    expired_url: str | None = None

    @property
    def has_outcome_urls(self) -> bool:
        return any((self.completed_url, self.failed_url, self.cancelled_url, self.expired_url))


@dataclass(frozen=True, slots=True)
class InitializeData:
    return_urls: ReturnUrls
    payin_method: str | None
    bank: str | None


def validate_return_url(value: Any, field: str) -> str:
    """An absolute http(s) URL without credentials, or a ``PaymentError`` naming ``field``."""
    if not isinstance(value, str) or not value.strip():
        raise PaymentError(
            ErrorCode.INVALID_RETURN_URL, f"{field} must be a non-empty URL string.", field=field
        )
    url = value.strip()
    if len(url) > _MAX_URL_LENGTH:
        raise PaymentError(
            ErrorCode.INVALID_RETURN_URL, f"{field} is longer than {_MAX_URL_LENGTH} characters.", field=field
        )
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise PaymentError(
            ErrorCode.INVALID_RETURN_URL, f"{field} must be an absolute http(s) URL.", field=field
        )
    if parts.username or parts.password:
        raise PaymentError(
            ErrorCode.INVALID_RETURN_URL, f"{field} must not contain credentials.", field=field
        )
    return url


def _optional_name(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 128:
        raise PaymentError(
            ErrorCode.INVALID_DATA, f"{key} must be a non-empty string of at most 128 characters.", field=key
        )
    return value.strip()


def parse_initialize_data(data: Any, *, default_return_url: str | None) -> InitializeData:
    """Validate the storefront's ``data`` for initialize; the configuration's return URL is the fallback."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise PaymentError(ErrorCode.INVALID_DATA, "data must be a JSON object.", field="data")
    unknown = sorted(set(data) - _KNOWN_KEYS)
    if unknown:
        raise PaymentError(
            ErrorCode.INVALID_DATA,
            f"Unknown key(s) in data: {', '.join(unknown)[:200]}. Expected: {', '.join(sorted(_KNOWN_KEYS))}.",
            field="data",
        )
    redirect = data.get("return_url")
    redirect_url = validate_return_url(redirect, "return_url") if redirect is not None else None
    outcome_urls: dict[str, str | None] = dict.fromkeys(_OUTCOMES)
    raw_outcomes = data.get("return_urls")
    if raw_outcomes is not None:
        if not isinstance(raw_outcomes, Mapping):
            raise PaymentError(ErrorCode.INVALID_DATA, "return_urls must be an object.", field="return_urls")
        extra = sorted(set(raw_outcomes) - set(_OUTCOMES))
        if extra:
            raise PaymentError(
                ErrorCode.INVALID_DATA,
                f"return_urls accepts only {', '.join(_OUTCOMES)}; got {', '.join(extra)[:100]}.",
                field="return_urls",
            )
        for outcome in _OUTCOMES:
            if raw_outcomes.get(outcome) is not None:
                outcome_urls[outcome] = validate_return_url(raw_outcomes[outcome], f"return_urls.{outcome}")
    if redirect_url is None and not any(outcome_urls.values()):
        if default_return_url is None:
            raise PaymentError(
                ErrorCode.INVALID_RETURN_URL,
                "Pass data.return_url (or data.return_urls) so the shopper can come back from PayCombat.",
                field="return_url",
            )
        redirect_url = validate_return_url(default_return_url, "return_url")
    return InitializeData(
        return_urls=ReturnUrls(
            redirect_url=redirect_url,
            completed_url=outcome_urls["completed"],
            failed_url=outcome_urls["failed"],
            cancelled_url=outcome_urls["cancelled"],
            expired_url=outcome_urls["expired"],
        ),
        payin_method=_optional_name(data, "payin_method"),
        bank=_optional_name(data, "bank"),
    )
