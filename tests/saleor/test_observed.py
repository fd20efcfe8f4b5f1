"""What a real Saleor 3.21 sent: every signature verifies and every body parses into our payloads."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from paycombat_gateway.saleor.jws import SignatureVerificationError, verify_detached_jws
from paycombat_gateway.saleor.webhooks import SYNC_WEBHOOKS
from tests.support.fixtures import fixture_text


def _observed() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fixture_text("saleor-3.21-webhooks.json"))
    return data


def _webhooks() -> list[dict[str, Any]]:
    return [r for r in _observed()["requests"] if r["request"] != "register"]


def test_every_observed_signature_verifies() -> None:
    observed = _observed()
    jwks = json.dumps(observed["jwks"])
    webhooks = _webhooks()
    assert len(webhooks) == 4
    for request in webhooks:
        verify_detached_jws(request["headers"]["Saleor-Signature"], request["body_raw"].encode(), jwks)


@pytest.mark.parametrize("mutation", ["tamper", "resign", "reserialise"])
def test_observed_signatures_fail_on_any_change(mutation: str) -> None:
    jwks = json.dumps(_observed()["jwks"])
    for request in _webhooks():
        signature, body = request["headers"]["Saleor-Signature"], request["body_raw"].encode()
        if mutation == "tamper":
            body = body.replace(b"1.99", b"0.01")
        elif mutation == "resign":
            head, _, sig = signature.split(".")
            signature = f"{head}..{sig[:-4]}AAAA"
        else:
            body = json.dumps(json.loads(body), separators=(",", ":")).encode()
        with pytest.raises(SignatureVerificationError):
            verify_detached_jws(signature, body, jwks)


def test_observed_bodies_parse_with_exact_amounts() -> None:
    by_event = {webhook.event.header_value: webhook for webhook in SYNC_WEBHOOKS}
    parsed = 0
    for request in _webhooks():
        webhook = by_event[request["headers"]["Saleor-Event"]]
        body = json.loads(request["body_raw"], parse_float=Decimal)
        if request["request"] == "transaction_process_session":
            body["sourceObject"]["channel"] = {
                "slug": "default-channel"
            }  # the probe's query did not ask for it
        payload = webhook.payload_model.model_validate(body)
        action = getattr(payload, "action", None)
        if action is not None:
            assert action.amount == Decimal("1.99")
        parsed += 1
    assert parsed == 4
