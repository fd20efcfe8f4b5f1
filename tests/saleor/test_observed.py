"""What a real Saleor 3.21 sent: every signature verifies and every body parses into our payloads."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from paycombat_gateway.saleor.jws import SignatureVerificationError, verify_detached_jws
from paycombat_gateway.saleor.webhooks import SYNC_WEBHOOKS


def _observed(shared_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (shared_dir / "saleor-observed" / "saleor-3.21-webhooks.json").read_text()
    )
    return data


def _webhooks(shared_dir: Path) -> list[dict[str, Any]]:
    return [r for r in _observed(shared_dir)["requests"] if r["request"] != "register"]


def test_every_observed_signature_verifies(shared_dir: Path) -> None:
    observed = _observed(shared_dir)
    jwks = json.dumps(observed["jwks"])
    webhooks = _webhooks(shared_dir)
    assert len(webhooks) == 4
    for request in webhooks:
        verify_detached_jws(request["headers"]["Saleor-Signature"], request["body_raw"].encode(), jwks)


@pytest.mark.parametrize("mutation", ["tamper", "resign", "reserialise"])
def test_observed_signatures_fail_on_any_change(shared_dir: Path, mutation: str) -> None:
    jwks = json.dumps(_observed(shared_dir)["jwks"])
    for request in _webhooks(shared_dir):
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


def test_observed_bodies_parse_with_exact_amounts(shared_dir: Path) -> None:
    by_event = {webhook.event.header_value: webhook for webhook in SYNC_WEBHOOKS}
    parsed = 0
    for request in _webhooks(shared_dir):
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
