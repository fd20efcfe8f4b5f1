"""The configuration API: Dashboard-token authorisation, write-only secrets, typed field errors."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from paycombat_gateway.saleor.webhooks import SyncEvent
from paycombat_gateway.storage import configs
from paycombat_gateway.storage.db import StorageUnavailable
from paycombat_gateway.storage.models import PaycombatConfig
from tests.support.saleor_double import SigningKey, initialize_payload
from tests.support.stack import ACCOUNT, Stack, money_reports

CONFIG_FIELDS = (
    "id name environment xTokenHint signatureKeyHint channels webhookUrl redirectUrl allowedPayinMethods"
)
RESULT = f"__typename ... on Configuration {{ {CONFIG_FIELDS} }} ... on ValidationErrors {{ errors {{ field code message }} }}"
CREATE = (
    f"mutation($input: ConfigurationInput!) {{ result: createConfiguration(input: $input) {{ {RESULT} }} }}"
)


def _post(
    stack: Stack,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
    api_url: str | None = None,
) -> requests.Response:
    return requests.post(
        f"{stack.app_url}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={
            "saleor-api-url": api_url if api_url is not None else stack.saleor.api_url,
            "authorization-bearer": token if token is not None else stack.saleor.dashboard_token(),
        },
        timeout=10,
    )


def _data(stack: Stack, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = _post(stack, query, variables)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def test_authorisation_matrix(stack: Stack) -> None:
    query = "{ configurations { id } }"
    cases = {
        "no token": (_post(stack, query, token=""), 401, "TOKEN_MISSING"),
        "no saleor-api-url": (_post(stack, query, api_url=""), 400, "MISSING_HEADER"),
        "unknown installation": (
            _post(stack, query, api_url="http://127.0.0.1:9/graphql/"),
            401,
            "NOT_REGISTERED",
        ),
        "forged": (
            _post(stack, query, token=stack.saleor.dashboard_token(key=SigningKey.generate())),
            401,
            "TOKEN_INVALID",
        ),
        "expired": (_post(stack, query, token=stack.saleor.dashboard_token(ttl=-60)), 401, "TOKEN_EXPIRED"),
        "wrong app": (
            _post(stack, query, token=stack.saleor.dashboard_token(app_id="QXBwOjk5")),
            401,
            "TOKEN_INVALID",
        ),
        "no permission": (
            _post(stack, query, token=stack.saleor.dashboard_token(user_permissions=("HANDLE_PAYMENTS",))),
            403,
            "FORBIDDEN",
        ),
    }
    bare = requests.post(f"{stack.app_url}/graphql", json={"query": query}, timeout=10)
    cases["no headers at all"] = (bare, 401, "TOKEN_MISSING")
    for name, (response, status, code) in cases.items():
        assert response.status_code == status, name
        assert response.json()["error"]["code"] == code, name
        if status == 401:
            assert response.headers["www-authenticate"].startswith("Bearer"), name
    assert _post(stack, query).status_code == 200


def test_create_returns_only_hints_and_the_webhook_url(stack: Stack) -> None:
    data = _data(
        stack,
        CREATE,
        {
            "input": {
                "name": "Korea",
                "environment": "live",
                "xToken": "snd_page_xtoken_aaaa1111",
                "signatureKey": "snd_page_sigkey_bbbb2222",
                "channels": ["korea"],
                "redirectUrl": "https://shop.example.com/return",
                "allowedPayinMethods": ["krw_virtual_account"],
            }
        },
    )["result"]
    assert data["__typename"] == "Configuration"
    assert data["xTokenHint"] == "••••1111" and data["signatureKeyHint"] == "••••2222"
    assert data["webhookUrl"] == f"{stack.app_url}/api/webhooks/paycombat/{data['id']}"
    listing = _post(stack, "{ configurations { id name xTokenHint channels } }")
    assert "snd_page_xtoken_aaaa1111" not in listing.text and "snd_page_sigkey_bbbb2222" not in listing.text
    update = f"mutation($id: ID!, $input: ConfigurationUpdate!) {{ result: updateConfiguration(id: $id, input: $input) {{ {RESULT} }} }}"
    updated = _data(
        stack, update, {"id": data["id"], "input": {"xToken": "", "channels": ["korea", "korea-b2b"]}}
    )["result"]
    assert updated["xTokenHint"] == "••••1111" and updated["channels"] == ["korea", "korea-b2b"]


def test_invalid_input_names_fields_and_saves_nothing(stack: Stack) -> None:
    data = _data(
        stack,
        CREATE,
        {
            "input": {
                "name": " ",
                "environment": "prod",
                "xToken": "",
                "signatureKey": "short",
                "channels": ["not a slug"],
                "redirectUrl": "javascript:alert(1)",
                "allowedPayinMethods": ["bitcoin"],
            }
        },
    )["result"]
    assert data["__typename"] == "ValidationErrors"
    fields = {error["field"] for error in data["errors"]}
    assert fields == {
        "name",
        "environment",
        "xToken",
        "signatureKey",
        "channels",
        "redirectUrl",
        "allowedPayinMethods",
    }
    duplicate = _data(
        stack,
        CREATE,
        {"input": {"name": "Main", "xToken": "snd_dup_xtoken_0001", "signatureKey": "snd_dup_sigkey_0001"}},
    )
    assert duplicate["result"]["errors"][0]["code"] == "UNIQUE"
    with stack.ctx.database.session() as session:
        assert session.query(PaycombatConfig).count() == 1  # only the stack's own


def test_test_connection_with_entered_and_saved_keys(stack: Stack) -> None:
    mutation = "mutation($id: ID, $x: String, $k: String, $u: String) { testConnection(id: $id, xToken: $x, signatureKey: $k, apiUrl: $u) { ok message } }"
    good = _data(stack, mutation, {"x": ACCOUNT.x_token, "k": ACCOUNT.signature_key})["testConnection"]
    assert good == {"ok": True, "message": "The keys work: PayCombat accepted the signed request."}
    bad = _data(stack, mutation, {"x": ACCOUNT.x_token, "k": "snd_wrong_signature_key"})["testConnection"]
    assert bad == {"ok": False, "message": "PayCombat could not be reached or refused these keys."}
    saved = _data(stack, mutation, {"id": stack.config_id})["testConnection"]
    assert saved["ok"] is True
    down = _data(stack, mutation, {"x": "snd_x_12345678", "k": "snd_k_12345678", "u": "http://127.0.0.1:9"})[
        "testConnection"
    ]
    assert down == bad


def test_activity_and_retrying_a_failed_report(stack: Stack) -> None:
    initialize = initialize_payload(stack.saleor)
    checkout_id = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)["pspReference"]
    stack.saleor.mode = "errors"
    stack.sandbox.settle(checkout_id, "success")

    def attempted() -> bool:
        reports = _data(stack, "{ reportsNeedingAttention { id attempts } }")["reportsNeedingAttention"]
        return bool(reports) and reports[0]["attempts"] > 0

    stack.wait_until(attempted)
    activity = _data(
        stack,
        "{ recentTransactions { checkoutId state } reportsNeedingAttention { id eventType lastError } unmatchedDeliveries { id } }",
    )
    assert activity["recentTransactions"] == [{"checkoutId": checkout_id, "state": "succeeded"}]
    (report,) = [r for r in activity["reportsNeedingAttention"] if r["eventType"] != "TRANSACTION_DETAILS"]
    assert report["eventType"] == "CHARGE_SUCCESS" and "Internal error" in report["lastError"]
    stack.saleor.mode = "ok"
    retried = _data(
        stack, "mutation($id: Int!) { retryReport(id: $id) { ok message } }", {"id": report["id"]}
    )
    assert retried["retryReport"]["ok"] is True
    stack.wait_until(lambda: bool(stack.saleor.accepted_events()))
    stack.wait_until(stack.outbox_settled)
    with stack.ctx.database.session() as session:
        assert money_reports(session).one().state == "delivered"


def test_internal_failures_are_masked_and_outages_named(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    query = "{ configurations { id } }"

    def broken(*args: Any) -> list[PaycombatConfig]:
        raise RuntimeError(
            "SELECT x_token_encrypted FROM paycombat_configs WHERE secret = 'gAAAA-ciphertext'"
        )

    monkeypatch.setattr(configs, "list_configs", broken)
    (masked,) = _post(stack, query).json()["errors"]
    assert masked["message"] == "Unexpected error in the app; its log has the details."
    assert "RuntimeError" in caplog.text  # the details are in the app's log, not in the answer

    def unavailable(*args: Any) -> list[PaycombatConfig]:
        raise StorageUnavailable("the database did not answer")

    monkeypatch.setattr(configs, "list_configs", unavailable)
    (named,) = _post(stack, query).json()["errors"]
    assert named["message"] == "the database did not answer"

    (syntax,) = _post(stack, "{ configurations { nosuchfield } }").json()["errors"]
    assert "nosuchfield" in syntax["message"]


DELETE = "mutation($id: ID!) { deleteConfiguration(id: $id) { ok message } }"


def test_delete_is_refused_while_a_payment_on_the_configuration_can_still_be_completed(stack: Stack) -> None:
    initialize = initialize_payload(stack.saleor)
    checkout_id = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)["pspReference"]
    refused = _data(stack, DELETE, {"id": stack.config_id})["deleteConfiguration"]
    assert refused["ok"] is False
    assert (
        "1 payment on it is still open" in refused["message"] and "unmap its channels" in refused["message"]
    )
    with stack.ctx.database.session(readonly=True) as session:
        config = session.get(PaycombatConfig, stack.config_id)
        assert config is not None and config.disabled_at is None and config.x_token_encrypted
        assert configs.mapped_channels(session, stack.config_id) == ["default-channel"]
    stack.sandbox.settle(checkout_id, "success")  # once it settles, removal goes ahead as before
    stack.wait_until(lambda: _data(stack, DELETE, {"id": stack.config_id})["deleteConfiguration"]["ok"])
    with stack.ctx.database.session(readonly=True) as session:
        config = session.get(PaycombatConfig, stack.config_id)
        assert config is not None and config.disabled_at is not None and config.x_token_encrypted == ""
