"""Attack: forged requests with random ``kid``s around a Saleor key rotation must not keep Saleor out.

Counted, never timed: how many times the app fetched Saleor's JWKS and what each request was answered.
"""

from __future__ import annotations

import json
import threading
import uuid

import jwt
import requests

from paycombat_gateway.saleor.webhooks import SyncEvent
from paycombat_gateway.storage.installations import get_installation
from tests.support.saleor_double import SigningKey, gateway_payload
from tests.support.stack import Stack

ATTACKER = SigningKey.generate()


def _forged_signature(body: bytes) -> str:
    """Signed, but by the attacker's key and under a kid nobody has published."""
    return jwt.api_jws.encode(
        body,
        ATTACKER.private,
        algorithm="RS256",
        headers={"kid": uuid.uuid4().hex, "b64": False, "crit": ["b64"]},
        is_payload_detached=True,
    )


def _forge(stack: Stack) -> requests.Response:
    payload = gateway_payload(stack.saleor)
    body = stack.saleor.serialise(payload)
    return stack.send(
        SyncEvent.PAYMENT_GATEWAY_INITIALIZE_SESSION, payload, body=body, signature=_forged_signature(body)
    )


def _real(stack: Stack) -> requests.Response:
    return stack.send(SyncEvent.PAYMENT_GATEWAY_INITIALIZE_SESSION, gateway_payload(stack.saleor))


def _stored_kids(stack: Stack) -> set[str]:
    with stack.ctx.database.session() as session:
        installation = get_installation(session, stack.saleor.api_url)
        assert installation is not None
        return {key["kid"] for key in json.loads(installation.jwks or "{}")["keys"]}


def _forged_dashboard_token(stack: Stack) -> str:
    token = stack.saleor.dashboard_token(key=ATTACKER)
    header, claims = jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})
    return jwt.encode(
        claims, ATTACKER.private, algorithm="RS256", headers={**header, "kid": uuid.uuid4().hex}
    )


def _dashboard(stack: Stack, token: str) -> requests.Response:
    return requests.post(
        f"{stack.app_url}/graphql",
        json={"query": "{ configurations { id } }"},
        headers={"saleor-api-url": stack.saleor.api_url, "authorization-bearer": token},
        timeout=10,
    )


def test_a_forgery_just_before_the_rotation_costs_the_real_webhook_one_fetch(stack: Stack) -> None:
    assert _forge(stack).status_code == 401  # fetched the (still old) keys: the refetch is used up
    fetches = stack.saleor.jwks_fetches
    stack.saleor.rotate_key()
    answer = _real(stack)
    assert answer.status_code == 200, answer.text
    assert stack.saleor.jwks_fetches == fetches + 1
    assert stack.saleor.key.kid in _stored_kids(stack)


def test_keys_a_forgery_caused_to_be_fetched_are_kept_and_verify_the_real_webhook(stack: Stack) -> None:
    stack.saleor.rotate_key()
    assert _forge(stack).status_code == 401
    assert stack.saleor.key.kid in _stored_kids(stack)  # persisted although the forgery failed
    fetches = stack.saleor.jwks_fetches
    answer = _real(stack)
    assert answer.status_code == 200, answer.text
    assert stack.saleor.jwks_fetches == fetches  # no fetch of its own


def test_a_flood_of_forgeries_never_refuses_a_correctly_signed_webhook(stack: Stack) -> None:
    stop = threading.Event()
    forged: list[int] = []

    def flood() -> None:
        while not stop.is_set():
            forged.append(_forge(stack).status_code)

    attackers = [threading.Thread(target=flood) for _ in range(3)]
    for attacker in attackers:
        attacker.start()
    try:
        while len(forged) < 6:  # the flood is under way before Saleor rotates
            threading.Event().wait(0.02)
        stack.saleor.rotate_key()
        answers = [_real(stack).status_code for _ in range(25)]
    finally:
        stop.set()
        for attacker in attackers:
            attacker.join()
    assert answers == [200] * 25
    assert set(forged) == {401}


def test_the_dashboard_token_path_keeps_rotated_keys_the_same_way(stack: Stack) -> None:
    assert _dashboard(stack, _forged_dashboard_token(stack)).status_code == 401
    fetches = stack.saleor.jwks_fetches
    stack.saleor.rotate_key()
    answer = _dashboard(stack, stack.saleor.dashboard_token())
    assert answer.status_code == 200, answer.text
    assert stack.saleor.jwks_fetches == fetches + 1
    stack.saleor.rotate_key()
    assert _dashboard(stack, _forged_dashboard_token(stack)).status_code == 401
    fetches = stack.saleor.jwks_fetches
    assert _real(stack).status_code == 200  # the webhook path uses what the Dashboard path fetched
    assert stack.saleor.jwks_fetches == fetches
