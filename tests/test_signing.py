"""PayCombat signatures must equal what Node.js computes for the documented recipe."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from paycombat_gateway.paycombat.signing import (
    compute_signature,
    js_stringify,
    sign_body,
    verify_webhook_signature,
)
from tests.support.fixtures import fixture_text


def _vectors() -> list[dict[str, str]]:
    data = json.loads(fixture_text("paycombat-signature-vector.json"))
    vectors: list[dict[str, str]] = data["vectors"]
    assert vectors, "the vector file holds no vectors"
    return vectors


def test_every_node_vector_round_trips() -> None:
    for vector in _vectors():
        body = json.loads(vector["body_js_stringify"])
        assert js_stringify(body) == vector["body_js_stringify"]
        signed = sign_body(body, vector["signature_key"])
        assert signed.payload == vector["body_js_stringify"].encode("utf-8")
        assert signed.signature == vector["signature"]


def test_vectors_parsed_with_decimal_still_match() -> None:
    for vector in _vectors():
        body = json.loads(vector["body_js_stringify"], parse_float=Decimal)
        assert sign_body(body, vector["signature_key"]).signature == vector["signature"]


def test_integral_numbers_lose_their_fraction_like_javascript() -> None:
    assert (
        js_stringify({"a": 100.0, "b": Decimal("9.00"), "c": Decimal("45.50")}) == '{"a":100,"b":9,"c":45.5}'
    )


def test_non_finite_numbers_are_refused() -> None:
    with pytest.raises(ValueError):
        js_stringify({"a": float("nan")})
    with pytest.raises(ValueError):
        js_stringify({"a": Decimal("Infinity")})


def test_webhook_signature_over_raw_bytes() -> None:
    raw = b'{"status":"SUCCESS","amount":100}'
    signature = compute_signature(raw, "key")
    assert verify_webhook_signature(raw, signature, "key")
    assert verify_webhook_signature(raw, signature.upper(), "key")
    assert not verify_webhook_signature(raw, signature, "other-key")
    assert not verify_webhook_signature(raw + b" ", signature[:-1] + "0", "key")


def test_webhook_signature_falls_back_to_the_javascript_form() -> None:
    pretty = b'{"status": "SUCCESS", "amount": 100, "note": "a/b"}'
    signature = compute_signature(b'{"status":"SUCCESS","amount":100,"note":"a/b"}', "key")
    assert verify_webhook_signature(pretty, signature, "key")


@pytest.mark.parametrize("signature", [None, "", "   ", "zz", "é"])
def test_missing_or_garbage_signatures_never_verify(signature: str | None) -> None:
    assert not verify_webhook_signature(b"{}", signature, "key")


def test_garbage_body_with_wrong_signature_is_rejected_not_raised() -> None:
    assert not verify_webhook_signature(b"\xff\xfe not json", "00" * 32, "key")
    assert not verify_webhook_signature(b"[" * 5000, "00" * 32, "key")


def test_signed_body_repr_hides_the_signature() -> None:
    signed = sign_body({"a": 1}, "key")
    assert signed.signature not in repr(signed)
