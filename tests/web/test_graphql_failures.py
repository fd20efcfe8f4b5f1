"""The configuration API under failure: a database outage answers 503 (as every route does), and a
failed request is logged by its operation name and error, never with its query text or variables."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import requests

from paycombat_gateway.storage import configs
from paycombat_gateway.storage.db import StorageUnavailable
from paycombat_gateway.web.config_api import auth
from tests.support.stack import Stack


def _post(
    stack: Stack, query: str, variables: dict[str, Any] | None = None, **extra: Any
) -> requests.Response:
    return requests.post(
        f"{stack.app_url}/graphql",
        json={"query": query, "variables": variables or {}, **extra},
        headers={
            "saleor-api-url": stack.saleor.api_url,
            "authorization-bearer": stack.saleor.dashboard_token(),
        },
        timeout=30,
    )


def _unavailable(*args: Any, **kwargs: Any) -> Any:
    raise StorageUnavailable("the database did not answer")


def test_a_database_outage_during_a_query_answers_503(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(configs, "list_configs", _unavailable)
    response = _post(stack, "{ configurations { id } }")
    assert response.status_code == 503
    (error,) = response.json()["errors"]
    assert error["message"] == "the database did not answer"


def test_a_database_outage_while_checking_the_dashboard_token_answers_503(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth, "get_installation", _unavailable)
    response = _post(stack, "{ configurations { id } }")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "STORAGE_UNAVAILABLE"


def test_a_failed_request_is_logged_by_name_and_error_without_its_text_or_variables(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    secret, variable_secret = "snd_typed_into_the_query_5f2c", "snd_sent_as_a_variable_9e1a"
    query = (
        "mutation CheckKeys($key: String) { testConnection(xToken: "
        f'"{secret}", signatureKey: $key, apiUrl: 5) {{ ok }} }}'
    )
    with caplog.at_level(logging.DEBUG):
        response = _post(stack, query, {"key": variable_secret}, operationName="CheckKeys")
    assert response.status_code == 200 and response.json()["errors"]  # a validation error (apiUrl: 5)
    failures = [record for record in caplog.records if "GraphQL CheckKeys" in record.getMessage()]
    assert failures and all(record.levelno == logging.WARNING for record in failures)
    assert secret not in caplog.text and variable_secret not in caplog.text
    assert "testConnection(" not in caplog.text  # not the query text either


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        # graphql-core echoes a variable's value in single quotes...
        ("query Recent($n: Int) { recentTransactions(limit: $n) { id } }", {"n": "sk_live_SECRET_quoted"}),
        # ...and an inline literal bare, with no quotes at all.
        ("query Recent { recentTransactions(limit: sk_live_SECRET_bare) { id } }", {}),
    ],
)
def test_a_refused_value_is_logged_by_kind_and_place_never_echoed(
    stack: Stack, caplog: pytest.LogCaptureFixture, query: str, variables: dict[str, Any]
) -> None:
    with caplog.at_level(logging.DEBUG):
        response = _post(stack, query, variables, operationName="Recent")
    (error,) = response.json()["errors"]
    assert "sk_live_SECRET" in error["message"]  # the caller is told what was wrong with what they sent
    refusals = [record.getMessage() for record in caplog.records if "GraphQL Recent" in record.getMessage()]
    assert refusals and all("invalid" in message for message in refusals)
    assert "sk_live_SECRET" not in caplog.text
