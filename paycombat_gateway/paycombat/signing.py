"""PayCombat request and webhook signatures.

PayCombat documents the signature as ``HMAC-SHA256(signatureKey, JSON.stringify(body))`` in lowercase
hex. JavaScript's ``JSON.stringify`` is compact, keeps key insertion order, leaves ``/`` and non-ASCII
characters unescaped, and writes integral numbers without a fraction. ``js_stringify`` reproduces that
form, and every request sends exactly the bytes it signed, so the result is right whether PayCombat
hashes the raw body or re-serialises the parsed one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from decimal import Decimal
from typing import Any

__all__ = [
    "SignedBody",
    "compute_signature",
    "js_stringify",
    "sign_body",
    "verify_webhook_signature",
]


def _to_js_value(value: Any) -> Any:
    """Normalise a value so that ``json.dumps`` writes what ``JSON.stringify`` would."""
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("JSON has no representation for a non-finite number")
        integral = value.to_integral_value()
        if value == integral:
            return int(integral)
        return float(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("JSON has no representation for a non-finite number")
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {str(key): _to_js_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_to_js_value(item) for item in value]
    raise TypeError(f"cannot serialise {type(value).__name__} as JSON")


def js_stringify(body: Any) -> str:
    """Serialise ``body`` exactly as JavaScript's ``JSON.stringify`` does (for the values JSON carries).

    ``Decimal`` amounts are written as JavaScript numbers: integral ones without a fraction, others in
    their shortest round-tripping form.
    """
    return json.dumps(_to_js_value(body), separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def compute_signature(payload: bytes, signature_key: str) -> str:
    """Lowercase hex HMAC-SHA256 of ``payload`` keyed with the merchant's signature key."""
    return hmac.new(signature_key.encode("utf-8"), payload, hashlib.sha256).hexdigest()


class SignedBody:
    """The exact bytes of a request body and their signature: send ``payload``, never a re-encoding."""

    __slots__ = ("payload", "signature")

    def __init__(self, payload: bytes, signature: str) -> None:
        self.payload = payload
        self.signature = signature

    def __repr__(self) -> str:  # the signature is derived from a secret: keep it out of reprs and logs
        return f"SignedBody(payload={len(self.payload)} bytes, signature=<hidden>)"


def sign_body(body: Any, signature_key: str) -> SignedBody:
    """Serialise ``body`` the JavaScript way and sign those bytes."""
    payload = js_stringify(body).encode("utf-8")
    return SignedBody(payload, compute_signature(payload, signature_key))


def verify_webhook_signature(raw_body: bytes, signature: str | None, signature_key: str) -> bool:
    """Check PayCombat's ``X-Signature`` for a webhook, in constant time.

    The raw bytes are tried first. PayCombat's docs show the sender hashing ``JSON.stringify(data)``,
    so when the raw form does not match, the body is parsed and re-serialised the JavaScript way and
    tried again (the documented fallback). A missing or empty signature never verifies.
    """
    if not signature:
        return False
    candidate = signature.strip().lower().encode("ascii", errors="replace")
    if hmac.compare_digest(compute_signature(raw_body, signature_key).encode("ascii"), candidate):
        return True
    try:
        reserialised = js_stringify(json.loads(raw_body, parse_float=Decimal)).encode("utf-8")
    except (ValueError, TypeError, RecursionError):
        return False
    if reserialised == raw_body:
        return False
    expected = compute_signature(reserialised, signature_key).encode("ascii")
    return hmac.compare_digest(expected, candidate)
