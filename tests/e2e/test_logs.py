"""Structured logs of a full payment flow carry request ids and not a single secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from paycombat_gateway.observability import configure_logging
from paycombat_gateway.saleor.webhooks import SyncEvent
from tests.support.saleor_double import initialize_payload, process_payload
from tests.support.stack import ACCOUNT, run_stack


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging("DEBUG", "json", stream=stream)
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def test_full_flow_logs_are_json_with_request_ids_and_no_secrets(
    tmp_path: Path, captured_logs: io.StringIO
) -> None:
    with run_stack(tmp_path) as stack:
        initialize = initialize_payload(stack.saleor)
        answer = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)
        checkout_token = answer["data"]["checkout_token"]
        stack.sandbox.settle(answer["pspReference"], "success")
        stack.wait_until(lambda: bool(stack.saleor.accepted_events()))
        stack.call(SyncEvent.TRANSACTION_PROCESS_SESSION, process_payload(stack.saleor, initialize))
        dashboard_token = stack.saleor.dashboard_token()
        requests.post(
            f"{stack.app_url}/graphql",
            json={"query": "{ configurations { id } }"},
            headers={"saleor-api-url": stack.saleor.api_url, "authorization-bearer": dashboard_token},
            timeout=5,
        ).raise_for_status()
        requests.post(
            f"{stack.app_url}/api/webhooks/paycombat/{stack.config_id}",
            data=b"{}",
            headers={"X-Signature": "f" * 64},
            timeout=5,
        )
        secrets = [
            ACCOUNT.x_token,
            ACCOUNT.signature_key,
            stack.saleor.app_token,
            stack.settings.app_secret_key or "",
            checkout_token,
            dashboard_token,
        ]
    text = captured_logs.getvalue()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert len(lines) > 10
    requests_logged = [line for line in lines if line["logger"] == "paycombat_gateway.http"]
    assert requests_logged and all(line.get("request_id") for line in requests_logged)
    assert {"status", "duration_ms", "path"} <= set(requests_logged[0])
    for secret in secrets:
        assert secret and secret not in text
