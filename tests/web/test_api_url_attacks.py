"""Attack: a Dashboard user points a configuration's API URL at a server of their choosing.

The attacker's server is a loopback receiver that records every request; stored keys must never reach
it, and the connection test must not tell open, closed and PayCombat-like ports apart.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from paycombat_gateway.gateway import api_urls
from paycombat_gateway.outbound import DNS_LOOKUP_SECONDS
from paycombat_gateway.saleor.webhooks import SyncEvent
from paycombat_gateway.storage import configs
from tests.support.dns import run_silent_nameserver
from tests.support.receiver import Receiver, run_receiver
from tests.support.saleor_double import initialize_payload
from tests.support.stack import ACCOUNT, Stack, run_stack

TEST = (
    "mutation($id: ID, $x: String, $k: String, $u: String) "
    "{ testConnection(id: $id, xToken: $x, signatureKey: $k, apiUrl: $u) { ok message } }"
)
UPDATE = (
    "mutation($id: ID!, $input: ConfigurationUpdate!) { result: updateConfiguration(id: $id, input: $input) "
    "{ __typename ... on Configuration { apiUrl } ... on ValidationErrors { errors { field code message } } } }"
)
CREATE = (
    "mutation($input: ConfigurationInput!) { result: createConfiguration(input: $input) "
    "{ __typename ... on ValidationErrors { errors { field code message } } } }"
)
FAILED = {"ok": False, "message": "PayCombat could not be reached or refused these keys."}


@pytest.fixture
def attacker() -> Iterator[Receiver]:
    with run_receiver() as receiver:
        yield receiver


def _graphql(stack: Stack, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = stack.graphql(query, variables)
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def _saved_api_url(stack: Stack) -> str | None:
    with stack.ctx.database.session() as session:
        config = configs.get_config(session, stack.config_id)
        assert config is not None
        return config.api_url


def test_testing_saved_keys_against_another_url_sends_them_nowhere(stack: Stack, attacker: Receiver) -> None:
    answer = _graphql(stack, TEST, {"id": stack.config_id, "u": attacker.base_url})["testConnection"]
    assert answer["ok"] is False and "enter the X-token and the signature key" in answer["message"]
    half = _graphql(stack, TEST, {"id": stack.config_id, "u": attacker.base_url, "x": "snd_typed_x_123456"})
    assert half["testConnection"]["ok"] is False  # one typed key does not release the other stored one
    assert attacker.everything() == []
    assert _graphql(stack, TEST, {"id": stack.config_id})["testConnection"]["ok"] is True  # where they belong


def test_moving_a_configuration_needs_its_keys_again(stack: Stack, attacker: Receiver) -> None:
    moved = _graphql(stack, UPDATE, {"id": stack.config_id, "input": {"apiUrl": attacker.base_url}})["result"]
    assert moved["__typename"] == "ValidationErrors"
    assert [(e["field"], e["code"]) for e in moved["errors"]] == [("apiUrl", "SECRETS_REQUIRED")]
    assert _saved_api_url(stack) is None
    answer = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize_payload(stack.saleor))
    assert answer["result"] == "CHARGE_ACTION_REQUIRED"  # still served by PayCombat (the sandbox)
    assert attacker.everything() == []
    unchanged = _graphql(stack, UPDATE, {"id": stack.config_id, "input": {"apiUrl": "", "name": "Renamed"}})
    assert unchanged["result"]["__typename"] == "Configuration"  # not moving it needs nothing
    rekeyed = _graphql(
        stack,
        UPDATE,
        {
            "id": stack.config_id,
            "input": {
                "apiUrl": stack.sandbox.base_url,
                "xToken": ACCOUNT.x_token,
                "signatureKey": ACCOUNT.signature_key,
            },
        },
    )["result"]
    assert rekeyed == {"__typename": "Configuration", "apiUrl": stack.sandbox.base_url}


def test_the_storage_layer_refuses_to_move_stored_keys(stack: Stack) -> None:
    with stack.ctx.database.session() as session:
        config = configs.get_config(session, stack.config_id)
        assert config is not None
        with pytest.raises(configs.SecretsRequired):
            configs.update_config(
                session, stack.ctx.box, config, x_token="snd_only_one_key", api_url="http://x.example"
            )
    assert _saved_api_url(stack) is None


def test_a_failed_test_says_one_thing_whatever_answered(
    stack: Stack, attacker: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    typed = {"x": "snd_typed_x_123456", "k": "snd_typed_k_123456"}
    closed = _graphql(stack, TEST, {**typed, "u": "http://127.0.0.1:9"})["testConnection"]
    with caplog.at_level(logging.WARNING):
        open_port = _graphql(stack, TEST, {**typed, "u": attacker.base_url})["testConnection"]
    refused_keys = _graphql(stack, TEST, {**typed, "u": stack.sandbox.base_url})["testConnection"]
    assert closed == open_port == refused_keys == FAILED
    assert any("connection test against" in record.getMessage() for record in caplog.records)


@pytest.fixture
def production(tmp_path: Path) -> Iterator[Stack]:
    with run_stack(
        tmp_path, app_env="production", paycombat_allowed_api_urls="https://10.1.2.3,https://localhost"
    ) as running:
        yield running


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}",  # not https
        "https://127.0.0.1:{port}",  # neither PayCombat's host nor listed
        "https://api.paycombat.com.evil.example",
        "https://10.1.2.3",  # listed, but a private address
        "https://localhost",  # listed, but resolves to loopback
    ],
)
def test_production_api_urls_are_https_on_paycombat_or_listed_public_hosts(
    production: Stack, attacker: Receiver, url: str
) -> None:
    api_url = url.format(port=attacker.base_url.rsplit(":", 1)[1])
    typed = {"x": "snd_typed_x_123456", "k": "snd_typed_k_123456"}
    answer = _graphql(production, TEST, {**typed, "u": api_url})["testConnection"]
    assert answer["ok"] is False and "not allowed" in answer["message"]
    created = _graphql(
        production,
        CREATE,
        {"input": {"name": "Elsewhere", "apiUrl": api_url, "xToken": typed["x"], "signatureKey": typed["k"]}},
    )
    assert [(e["field"], e["code"]) for e in created["result"]["errors"]] == [("apiUrl", "NOT_ALLOWED")]
    assert attacker.everything() == []


def test_an_api_url_whose_host_never_resolves_ends_at_its_deadline_holding_no_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A Dashboard user names a (listed) PayCombat host whose DNS never answers, many times at once: each
    check ends at ``DNS_LOOKUP_SECONDS`` with "not allowed", the name is never handed to
    ``getaddrinfo`` (the only way a look-up holds a thread), and the app serves everyone meanwhile."""
    host = "slow-dns.paycombat.test"
    threaded: list[object] = []
    real_getaddrinfo = socket.getaddrinfo

    def recording_getaddrinfo(name: Any, *args: Any, **kwargs: Any) -> Any:
        threaded.append(name)
        return real_getaddrinfo(name, *args, **kwargs)

    with (
        run_silent_nameserver() as nameserver,
        run_stack(tmp_path, app_env="production", paycombat_allowed_api_urls=f"https://{host}") as stack,
    ):
        monkeypatch.setattr(api_urls, "dns_resolver", nameserver.resolver)
        monkeypatch.setattr(socket, "getaddrinfo", recording_getaddrinfo)
        typed = {"x": "snd_typed_x_123456", "k": "snd_typed_k_123456", "u": f"https://{host}"}
        with ThreadPoolExecutor(12) as dashboard:
            tests = [dashboard.submit(_graphql, stack, TEST, typed) for _ in range(12)]
            stack.wait_until(lambda: nameserver.queries() > 0, timeout=30)

            page = _graphql(stack, "{ configurations { id } }", {})  # everyone else is served meanwhile
            assert page["configurations"] == [{"id": stack.config_id}]
            assert requests.get(f"{stack.app_url}/readyz", timeout=10).status_code == 200
            assert not all(test.done() for test in tests)  # ... while the look-ups still wait
            answers = [test.result(timeout=60)["testConnection"] for test in tests]

    assert all(answer["ok"] is False and "not allowed" in answer["message"] for answer in answers)
    assert any(
        f"{host} could not be resolved within {DNS_LOOKUP_SECONDS:g} s" in record.getMessage()
        for record in caplog.records
    )
    assert host not in threaded
