"""Installing from Saleor and the fixed validation order of Saleor webhooks, over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from paycombat_gateway import __version__
from paycombat_gateway.commands.manifest import REPO_APP_URL, render_manifest
from paycombat_gateway.saleor.webhooks import SyncEvent
from paycombat_gateway.storage.installations import get_installation, list_installations
from paycombat_gateway.storage.models import PaymentSession
from tests.support.saleor_double import SigningKey, initialize_payload, run_saleor
from tests.support.stack import PATHS, Stack, make_settings, run_stack, serve_app

ROOT = Path(__file__).resolve().parents[2]


def _sessions(stack: Stack) -> int:
    with stack.ctx.database.session() as session:
        return session.query(PaymentSession).count()


def test_install_stores_the_token_encrypted(stack: Stack) -> None:
    with stack.ctx.database.session() as session:
        installation = get_installation(session, stack.saleor.api_url)
        assert installation is not None
        assert installation.app_id == stack.saleor.app_id
        assert stack.saleor.app_token not in installation.token_encrypted
        assert stack.ctx.box.decrypt(installation.token_encrypted) == stack.saleor.app_token
        assert json.loads(installation.jwks or "{}")["keys"][0]["kid"] == stack.saleor.key.kid


def test_replayed_install_updates_token_and_app_id(stack: Stack) -> None:
    stack.saleor.app_id = "QXBwOjI="
    stack.saleor.app_token = "a-new-token-after-reinstall"
    assert stack.saleor.register(stack.app_url).status_code == 200
    with stack.ctx.database.session() as session:
        (installation,) = list_installations(session)
        assert installation.app_id == "QXBwOjI="
        assert stack.ctx.box.decrypt(installation.token_encrypted) == "a-new-token-after-reinstall"


def test_install_refusals(tmp_path: Path) -> None:
    with run_saleor() as saleor:
        settings = make_settings(
            tmp_path,
            "http://127.0.0.1:1",
            "http://127.0.0.1:2",
            allowed_saleor_urls="https://*.saleor.cloud/graphql/",
        )
        with serve_app(settings) as (url, app):
            refused = saleor.register(url)
            assert refused.status_code == 403
            assert refused.json() == {
                "success": False,
                "error": {"code": "SALEOR_URL_PROHIBITED", "message": refused.json()["error"]["message"]},
            }
        settings = make_settings(tmp_path, "http://127.0.0.1:1", "http://127.0.0.1:2")
        with serve_app(settings) as (url, app):
            bad_token = saleor.register(url, token="not-the-token")
            assert bad_token.status_code == 401 and bad_token.json()["error"]["code"] == "UNKNOWN_APP_ID"
            no_token = requests.post(
                f"{url}/api/register", json={}, headers={"Saleor-Api-Url": saleor.api_url}, timeout=5
            )
            assert no_token.status_code == 400
            with app.state.context.database.session() as session:
                assert list_installations(session) == []


def test_signed_webhook_reaches_its_handler(stack: Stack) -> None:
    answer = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize_payload(stack.saleor))
    assert answer["result"] == "CHARGE_ACTION_REQUIRED"
    assert _sessions(stack) == 1


def test_every_forged_variant_gets_401_and_writes_nothing(stack: Stack) -> None:
    payload = initialize_payload(stack.saleor)
    body = stack.saleor.serialise(payload)
    stranger = SigningKey.generate()
    head, _, tail = stack.saleor.sign(body).split(".")
    variants = {
        "forged": stack.saleor.sign(body, stranger),  # unknown kid, unknown key
        "forged-known-kid": stack.saleor.sign(
            body, SigningKey(stranger.private, stack.saleor.key.kid, stack.saleor.key.jwk)
        ),
        "tampered-signature": f"{head}..{tail[::-1]}",
        "not-a-jws": "deadbeef",
    }
    for name, signature in variants.items():
        response = stack.send(SyncEvent.TRANSACTION_INITIALIZE_SESSION, payload, signature=signature)
        assert response.status_code == 401, name
        assert response.json()["error"]["code"] == "SIGNATURE_VERIFICATION_FAILED"
    tampered = body.replace(b"49.99", b"0.01")
    response = stack.send(
        SyncEvent.TRANSACTION_INITIALIZE_SESSION, payload, body=tampered, signature=stack.saleor.sign(body)
    )
    assert response.status_code == 401
    assert _sessions(stack) == 0
    assert stack.sandbox.store.count("checkout") == 0


def test_protocol_errors_in_the_fixed_order(stack: Stack) -> None:
    payload = initialize_payload(stack.saleor)
    path = PATHS[SyncEvent.TRANSACTION_INITIALIZE_SESSION]
    assert requests.get(stack.app_url + path, timeout=5).status_code == 405
    wrong_event = stack.send(
        SyncEvent.TRANSACTION_INITIALIZE_SESSION,
        payload,
        headers={"Saleor-Event": "transaction_process_session"},
    )
    assert wrong_event.status_code == 400 and wrong_event.json()["error"]["code"] == "WRONG_EVENT"
    no_signature = stack.send(SyncEvent.TRANSACTION_INITIALIZE_SESSION, payload, signature="")
    assert no_signature.status_code == 400
    not_json = stack.send(SyncEvent.TRANSACTION_INITIALIZE_SESSION, payload, body=b"{not json")
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "CANT_BE_PARSED"
    unknown = stack.send(
        SyncEvent.TRANSACTION_INITIALIZE_SESSION,
        payload,
        headers={"Saleor-Api-Url": "http://127.0.0.1:9/graphql/"},
    )
    assert unknown.status_code == 401 and unknown.json()["error"]["code"] == "NOT_REGISTERED"
    stale = dict(payload, recipient={"id": "QXBwOjk5"})
    assert stack.send(SyncEvent.TRANSACTION_INITIALIZE_SESSION, stale).status_code == 403
    assert _sessions(stack) == 0


def test_key_rotation_after_install_refetches_and_persists(stack: Stack) -> None:
    old_kid = stack.saleor.key.kid
    stack.saleor.rotate_key()
    answer = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize_payload(stack.saleor))
    assert answer["result"] == "CHARGE_ACTION_REQUIRED"
    with stack.ctx.database.session() as session:
        installation = get_installation(session, stack.saleor.api_url)
        assert installation is not None
        kids = [key["kid"] for key in json.loads(installation.jwks or "{}")["keys"]]
    assert kids == [stack.saleor.key.kid] and old_kid not in kids


def test_body_size_limit(stack: Stack) -> None:
    huge = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    response = requests.post(
        stack.app_url + PATHS[SyncEvent.TRANSACTION_INITIALIZE_SESSION], data=huge, timeout=10
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "BODY_TOO_LARGE"


def test_manifest_route_command_and_file_agree(stack: Stack) -> None:
    served = requests.get(f"{stack.app_url}/api/manifest", timeout=5).json()
    assert served == json.loads(render_manifest(stack.app_url))
    assert (ROOT / "manifest.json").read_text(encoding="utf-8") == render_manifest(REPO_APP_URL), (
        "manifest.json is out of date: run `paycombat-gateway manifest --app-url "
        f"{REPO_APP_URL} -o manifest.json`"
    )
    logo = requests.get(served["brand"]["logo"]["default"], timeout=5)
    assert logo.status_code == 200 and logo.content.startswith(b"\x89PNG")
    assert int.from_bytes(logo.content[16:20], "big") == int.from_bytes(logo.content[20:24], "big") >= 256


def test_health_and_readiness(stack: Stack) -> None:
    health = requests.get(f"{stack.app_url}/healthz", timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert "x-request-id" in health.headers
    assert requests.get(f"{stack.app_url}/readyz", timeout=5).json() == {"status": "ready"}


def test_the_app_checkpoints_sqlite_while_it_serves(tmp_path: Path) -> None:
    with run_stack(tmp_path) as running:
        checkpointer = running.app.state.checkpointer
        assert checkpointer.running
    assert not checkpointer.running


def test_a_bug_answers_json_without_a_trace(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    from paycombat_gateway.web import saleor_routes

    def broken(*args: object) -> object:
        raise RuntimeError("secret internals")

    monkeypatch.setitem(saleor_routes.HANDLERS, SyncEvent.TRANSACTION_INITIALIZE_SESSION, broken)
    response = stack.send(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize_payload(stack.saleor))
    assert response.status_code == 500
    body = response.json()
    assert body["error"]["code"] == "INTERNAL_ERROR"
    assert response.headers["x-request-id"] in body["error"]["message"]
    assert "Traceback" not in response.text and "secret internals" not in response.text


def test_the_base_url_is_a_page_that_says_where_to_start(stack: Stack) -> None:
    page = requests.get(f"{stack.app_url}/", timeout=5)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "paycombat-gateway" in page.text and __version__ in page.text
    assert f"{stack.settings.app_url}/api/manifest" in page.text
    assert "Ready: the database answers" in page.text
    assert 'href="https://github.com/paycombat/paycombat-gateway#readme"' in page.text
    assert stack.settings.app_secret_key not in page.text and "snd_" not in page.text
