"""Malformed or downgraded JWS headers never verify, whatever part of them is wrong."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from paycombat_gateway.saleor.jws import SignatureVerificationError, verify_detached_jws
from tests.support.fixtures import fixture_text


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def observed() -> tuple[str, bytes, str]:
    data: dict[str, Any] = json.loads(fixture_text("saleor-3.21-webhooks.json"))
    request = next(r for r in data["requests"] if r["request"] != "register")
    return request["headers"]["Saleor-Signature"], request["body_raw"].encode(), json.dumps(data["jwks"])


def test_the_observed_signature_verifies(observed: tuple[str, bytes, str]) -> None:
    signature, body, jwks = observed
    verify_detached_jws(signature, body, jwks)


def _with_header(signature: str, header_segment: str) -> str:
    _, _, tail = signature.split(".")
    return f"{header_segment}..{tail}"


def _header(signature: str) -> dict[str, Any]:
    segment = signature.split(".")[0]
    header: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return header


@pytest.mark.parametrize(
    "make_segment",
    [
        pytest.param(lambda header, segment: "!!!!", id="not base64"),
        pytest.param(lambda header, segment: _b64(b"not json"), id="not json"),
        pytest.param(lambda header, segment: _b64(b"[1, 2]"), id="json but not an object"),
        pytest.param(lambda header, segment: segment + "!!", id="junk after a valid header"),
        pytest.param(
            lambda header, segment: _b64(json.dumps({**header, "alg": "none"}).encode()), id="alg none"
        ),
        pytest.param(
            lambda header, segment: _b64(json.dumps({**header, "alg": "HS256"}).encode()), id="alg HS256"
        ),
        pytest.param(
            lambda header, segment: _b64(
                json.dumps({k: v for k, v in header.items() if k != "b64"}).encode()
            ),
            id="b64 missing",
        ),
        pytest.param(
            lambda header, segment: _b64(json.dumps({**header, "kid": "other"}).encode()), id="other kid"
        ),
        pytest.param(
            lambda header, segment: _b64(json.dumps({**header, "x": 1}).encode()),
            id="header changed after signing",
        ),
    ],
)
def test_a_bad_header_never_verifies(observed: tuple[str, bytes, str], make_segment: Any) -> None:
    signature, body, jwks = observed
    forged = _with_header(signature, make_segment(_header(signature), signature.split(".")[0]))
    with pytest.raises(SignatureVerificationError):
        verify_detached_jws(forged, body, jwks)


@pytest.mark.parametrize("shape", ["a.b", "a.b.c", "a..b..c", ""])
def test_anything_but_a_detached_jws_is_refused(observed: tuple[str, bytes, str], shape: str) -> None:
    _, body, jwks = observed
    with pytest.raises(SignatureVerificationError):
        verify_detached_jws(shape, body, jwks)


@pytest.mark.parametrize("junk", ["!", "+", "/", "=", " "])
def test_a_signature_segment_outside_base64url_is_refused(
    observed: tuple[str, bytes, str], junk: str
) -> None:
    """Lenient base64 would skip the junk and still verify: the same signature in another spelling."""
    signature, body, jwks = observed
    head, _, tail = signature.split(".")
    with pytest.raises(SignatureVerificationError, match="not base64url"):
        verify_detached_jws(f"{head}..{tail[:10]}{junk}{tail[10:]}", body, jwks)


def test_a_critical_extension_we_do_not_apply_is_refused(observed: tuple[str, bytes, str]) -> None:
    signature, body, jwks = observed
    header = _header(signature)
    segment = _b64(json.dumps({**header, "crit": ["b64", "exp"]}).encode())
    with pytest.raises(SignatureVerificationError, match="critical extension"):
        verify_detached_jws(_with_header(signature, segment), body, jwks)


def test_a_key_that_is_not_rsa_is_refused(observed: tuple[str, bytes, str]) -> None:
    """Even if Saleor's JWKS published another kind of key under the signature's kid."""
    signature, body, _ = observed
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    jwk = json.loads(ECAlgorithm.to_jwk(ec_key))
    jwk["kid"] = _header(signature)["kid"]
    with pytest.raises(SignatureVerificationError, match="not an RSA public key"):
        verify_detached_jws(signature, body, json.dumps({"keys": [jwk]}))
