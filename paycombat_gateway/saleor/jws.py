"""Saleor's webhook signature: a detached RS256 JWS over the exact raw body (RFC 7797, ``b64: false``).

Verification never passes silently: the key is picked by ``kid`` from a JWKS (an unknown ``kid`` sends
the caller to ``jwks_refresh`` for Saleor's current keys); any failure raises
``SignatureVerificationError``. The algorithm is pinned to RS256, whatever the header says.

PyJWT reads the JWKS; the signature itself is checked with ``cryptography`` directly. For this one
shape of JWS (RS256, detached, unencoded payload) PyJWT's general decoder added little but cost: it
re-validated every base64 character in Python and took about half of the verification's time.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.exceptions import PyJWKError, PyJWKSetError

__all__ = [
    "SignatureVerificationError",
    "has_kid",
    "parse_jwks",
    "select_key",
    "signature_kid",
    "verify_detached_jws",
]

ALGORITHM = "RS256"
UNDERSTOOD_CRITICAL = {"b64"}  # RFC 7515 §4.1.11: refuse a header naming an extension we do not apply
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


class SignatureVerificationError(Exception):
    """The signature does not verify against any key Saleor publishes."""


@lru_cache(maxsize=64)
def parse_jwks(jwks_text: str) -> dict[str | None, object]:
    """Parsed public keys of a JWKS document; parsing RSA keys costs more than verifying with them."""
    try:
        key_set = jwt.PyJWKSet.from_json(jwks_text)
    except (PyJWKSetError, PyJWKError, ValueError, TypeError) as exc:
        raise SignatureVerificationError("the JWKS is not a valid key set") from exc
    return {key.key_id: key.key for key in key_set.keys}


def select_key(jwks_text: str | None, kid: str | None) -> object:
    """The public key with ``kid`` from a JWKS document."""
    if not jwks_text:
        raise SignatureVerificationError("no JWKS is known for this Saleor")
    key = parse_jwks(jwks_text).get(kid)
    if key is None:
        raise SignatureVerificationError("no key in the JWKS has the signature's kid")
    return key


def has_kid(jwks_text: str | None, kid: str | None) -> bool:
    """Whether the JWKS document (an unreadable one has no keys) has a key with ``kid``."""
    if not jwks_text:
        return False
    try:
        return kid in parse_jwks(jwks_text)
    except SignatureVerificationError:
        return False


def _base64url(segment: str, what: str) -> bytes:
    """Strict base64url: characters outside the alphabet are refused, not skipped as ``base64`` would."""
    if _BASE64URL.fullmatch(segment) is None:
        raise SignatureVerificationError(f"the {what} is not base64url")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (ValueError, binascii.Error) as exc:
        raise SignatureVerificationError(f"the {what} is not base64url") from exc


@lru_cache(maxsize=256)
def _header(segment: str) -> Mapping[str, Any]:
    """The protected header of a JWS, read-only. Remembered by its segment: Saleor signs every webhook
    with the same header (its algorithm, key id and ``b64``), and each request reads it up to three
    times (the key id for the JWKS refresh, for the installation's keys, then the verification)."""
    try:
        header = json.loads(_base64url(segment, "signature header"))
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise SignatureVerificationError("the signature header is unreadable") from exc
    if not isinstance(header, dict):
        raise SignatureVerificationError("the signature header is unreadable")
    return MappingProxyType(header)


def signature_kid(signature: str) -> str | None:
    """The ``kid`` a detached JWS names (unverified: it only picks the key to verify with)."""
    kid = _header(signature.split(".", 1)[0]).get("kid")
    return kid if isinstance(kid, str) else None


def verify_detached_jws(signature: str, raw_body: bytes, jwks_text: str | None) -> None:
    """Raise unless ``signature`` is Saleor's detached JWS of exactly ``raw_body``."""
    parts = signature.split(".")
    if len(parts) != 3 or parts[1] != "":
        raise SignatureVerificationError("the signature is not a detached JWS")
    header = _header(parts[0])
    if header.get("alg") != ALGORITHM:
        raise SignatureVerificationError("the signature is not RS256")
    critical = header.get("crit")
    if header.get("b64") is not False or not isinstance(critical, list) or "b64" not in critical:
        raise SignatureVerificationError("the signature is not over the unencoded body (b64=false)")
    if not set(map(str, critical)) <= UNDERSTOOD_CRITICAL:
        raise SignatureVerificationError("the signature header names a critical extension we do not apply")
    key = select_key(jwks_text, header.get("kid"))
    if not isinstance(key, RSAPublicKey):
        raise SignatureVerificationError("the key with the signature's kid is not an RSA public key")
    signed = parts[0].encode("ascii") + b"." + raw_body  # RFC 7797: the header segment, a dot, the raw body
    try:
        key.verify(_base64url(parts[2], "signature"), signed, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as exc:
        raise SignatureVerificationError("the signature does not match the body") from exc
