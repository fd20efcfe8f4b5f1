"""``GET /metrics``: Prometheus' text format, right after real traffic, readable only as the
``METRICS_*`` settings allow, and never carrying a secret, a Saleor URL or a shopper's data."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import anyio
import pytest
import requests
from anyio import to_thread
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request

from paycombat_gateway.background_server import bind_loopback, serve_in_thread
from paycombat_gateway.gateway import blocking
from paycombat_gateway.saleor.webhooks import SyncEvent
from paycombat_gateway.settings import MetricsSettings
from paycombat_gateway.storage.models import PaymentSession
from paycombat_gateway.web.app import create_app
from paycombat_gateway.web.metrics_route import metrics_app, metrics_routes
from tests.support.saleor_double import action_payload, initialize_payload
from tests.support.serve_process import free_port
from tests.support.stack import ACCOUNT, make_settings, run_stack

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample of the exposition, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(url: str, **headers: str) -> Samples:
    response = requests.get(f"{url}/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


def test_metrics_after_a_payment_a_refund_and_a_parked_report(tmp_path: Path) -> None:
    with run_stack(tmp_path) as stack:
        before = scrape(stack.app_url)
        initialize, checkout_id = stack.settled_checkout("success")
        refund = stack.call(
            SyncEvent.TRANSACTION_REFUND_REQUESTED,
            action_payload(stack.saleor, "TransactionRefundRequested", initialize, amount="10.00"),
        )
        assert refund["pspReference"].startswith("rf_")
        stack.wait_until(stack.outbox_settled)
        parked_checkout = stack.payment_with_a_parked_report()
        response = requests.get(f"{stack.app_url}/metrics", timeout=10)
        after = parse(response.text)
        with stack.ctx.database.session() as session:
            shopper_data = [
                value
                for payment in session.query(PaymentSession)
                for value in (payment.merchant_reference, payment.saleor_transaction_id, payment.payin_id)
            ]

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # what the database says, whichever process answers
    assert value(after, "paycombat_gateway_outbox_reports", state="parked") == 1
    assert value(after, "paycombat_gateway_outbox_reports", state="owed") == 0
    assert value(after, "paycombat_gateway_outbox_oldest_report_age_seconds") == 0
    assert value(after, "paycombat_gateway_refunds_owed") == 1
    assert 0 <= value(after, "paycombat_gateway_refunds_owed_oldest_age_seconds") < 600
    assert value(after, "paycombat_gateway_payments_held") == 0
    assert value(after, "paycombat_gateway_database_up") == 1
    # what happened, as it happened
    assert grew("paycombat_gateway_paycombat_webhooks_total", outcome="stored") >= 1
    assert grew("paycombat_gateway_outbox_deliveries_total", outcome="sent") >= 2  # charge, refund request
    assert grew("paycombat_gateway_outbox_deliveries_total", outcome="parked") == 1
    created = ("paycombat_gateway_paycombat_request_duration_seconds_count", "create_payment_request")
    assert grew(created[0], endpoint=created[1], outcome="ok") == 2
    webhook_route = {"route": "/api/webhooks/paycombat/{config_id}", "status": "200"}
    assert grew("paycombat_gateway_http_request_duration_seconds_count", **webhook_route) >= 1
    refund_route = {"route": "/api/webhooks/saleor/transaction-refund-requested", "status": "200"}
    assert grew("paycombat_gateway_http_request_duration_seconds_count", **refund_route) == 1
    assert grew("paycombat_gateway_http_request_duration_seconds_bucket", le="+Inf", **refund_route) == 1
    # nothing a caller chose, nothing secret, nothing about a shopper
    text = response.text
    saleor_host = stack.saleor.base_url.split("://", 1)[1]
    for forbidden in (saleor_host, stack.saleor.app_token, ACCOUNT.x_token, ACCOUNT.signature_key,
                      checkout_id, parked_checkout, refund["pspReference"], stack.config_id,
                      *shopper_data):  # fmt: skip
        assert forbidden and forbidden not in text  # the configuration's id: only in its route's template


def test_webhook_outcomes_are_counted_without_the_callers_configuration_id(tmp_path: Path) -> None:
    with run_stack(tmp_path) as stack:
        before = scrape(stack.app_url)
        made_up = "made-up-configuration-7f3a9c"
        assert (
            requests.post(
                f"{stack.app_url}/api/webhooks/paycombat/{made_up}", data=b"{}", timeout=5
            ).status_code
            == 404
        )
        forged = requests.post(
            f"{stack.app_url}/api/webhooks/paycombat/{stack.config_id}",
            data=b'{"id": "x"}',
            headers={"X-Signature": "forged"},
            timeout=5,
        )
        assert forged.status_code == 401
        response = requests.get(f"{stack.app_url}/metrics", timeout=10)
    after = parse(response.text)
    for outcome in ("unknown_configuration", "bad_signature"):
        name = "paycombat_gateway_paycombat_webhooks_total"
        assert value(after, name, outcome=outcome) - value(before, name, outcome=outcome) == 1
    assert made_up not in response.text and "forged" not in response.text


class AppClient:
    """GET from an app served on loopback for the one request."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    def get(self, path: str, headers: dict[str, str] | None = None) -> requests.Response:
        with serve_in_thread(self.app) as url:
            return requests.get(f"{url}{path}", headers=headers, timeout=10)


def _client(tmp_path: Path, **metrics: object) -> AppClient:
    settings = make_settings(tmp_path, "http://127.0.0.1:1", "http://127.0.0.1:2")
    return AppClient(create_app(replace(settings, metrics=MetricsSettings(**metrics))))  # type: ignore[arg-type]


def test_metrics_are_open_in_development(tmp_path: Path) -> None:
    assert _client(tmp_path).get("/metrics").status_code == 200


def test_production_refuses_metrics_on_the_apps_port_without_a_token(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "https://pay.example.com", "http://127.0.0.1:2")
    client = AppClient(create_app(replace(settings, app_env="production")))
    refused = client.get("/metrics")
    assert refused.status_code == 403 and "METRICS_TOKEN" in refused.json()["error"]["message"]


@pytest.mark.parametrize("app_env", ["development", "production"])
def test_a_token_is_required_when_set(tmp_path: Path, app_env: str) -> None:
    token = "scrape-token-4e1f0b9a2c"
    settings = make_settings(tmp_path, "https://pay.example.com", "http://127.0.0.1:2")
    settings = replace(settings, app_env=app_env, metrics=MetricsSettings(token=token))
    client = AppClient(create_app(settings))
    for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"}, {"Authorization": token}):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 401 and token not in refused.text
    allowed = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert allowed.status_code == 200 and "paycombat_gateway_outbox_reports" in allowed.text


def test_metrics_listen_moves_them_off_the_apps_port(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "https://pay.example.com", "http://127.0.0.1:2")
    settings = replace(settings, app_env="production", metrics=MetricsSettings(listen=("127.0.0.1", 9464)))
    app = create_app(settings)
    assert AppClient(app).get("/metrics").status_code == 404
    own = AppClient(metrics_app(settings, app.state.context.database)).get("/metrics")
    assert own.status_code == 200 and "paycombat_gateway_refunds_owed" in own.text


def test_metrics_can_be_turned_off(tmp_path: Path) -> None:
    assert _client(tmp_path, enabled=False).get("/metrics").status_code == 404


def test_a_taken_metrics_port_is_named_and_nothing_starts(tmp_path: Path) -> None:
    taken = bind_loopback()
    taken.listen(1)
    metrics_port = taken.getsockname()[1]
    env = {key: value for key, value in os.environ.items() if not key.startswith(("APP_", "DATABASE_URL"))}
    env.update(DATA_DIR=str(tmp_path / "data"), METRICS_LISTEN=f"127.0.0.1:{metrics_port}")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "paycombat_gateway", "serve", "--port", str(free_port())], env=env,
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    finally:
        taken.close()
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"paycombat-gateway serve: METRICS_LISTEN: port {metrics_port} on 127.0.0.1 is already in use by another "
        "program; choose another in METRICS_LISTEN"
    )


def test_held_news_and_reconciler_look_ups_are_counted(tmp_path: Path) -> None:
    with run_stack(tmp_path) as stack:
        stack.settled_checkout("success")
        before = scrape(stack.app_url)
        open_id = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize_payload(stack.saleor))[
            "pspReference"
        ]
        findings = list(
            stack.app.state.reconciler.run_pass()
        )  # the operator's pass: PayCombat has nothing yet
        assert [finding.tally for finding in findings] == ["nothing yet"]
        body = re.sub(
            r'"amount":[^,}]+',
            '"amount":0',
            stack.payin_success_for(open_id, "5b0c7e8e-0000-4000-8000-0000000000ac"),
        )
        assert (
            stack.deliver_signed(body.encode()).status_code == 200
        )  # a success of nothing: held, not reported
        after = scrape(stack.app_url)
    lookups = "paycombat_gateway_reconciler_lookups_total"
    assert value(after, lookups, result="nothing_yet") - value(before, lookups, result="nothing_yet") == 1
    webhooks = "paycombat_gateway_paycombat_webhooks_total"
    assert value(after, webhooks, outcome="held") - value(before, webhooks, outcome="held") == 1
    assert value(after, "paycombat_gateway_payments_held") == 1


def test_a_held_payment_that_expires_drops_out_of_payments_held(tmp_path: Path) -> None:
    with run_stack(tmp_path) as stack:
        stack.settled_checkout("success")
        open_id = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize_payload(stack.saleor))[
            "pspReference"
        ]
        success = stack.payin_success_for(open_id, "5b0c7e8e-0000-4000-8000-0000000000af")
        stack.deliver_signed(re.sub(r'"amount":[^,}]+', '"amount":0', success).encode())
        held = scrape(stack.app_url)
        expired = stack.payin_success_for(open_id, "5b0c7e8e-0000-4000-8000-0000000000b0")
        response = stack.deliver_signed(expired.replace('"status":"SUCCESS"', '"status":"EXPIRED"').encode())
        assert response.status_code == 200
        after = scrape(stack.app_url)
    assert value(held, "paycombat_gateway_payments_held") == 1
    assert value(after, "paycombat_gateway_payments_held") == 0


def test_a_signed_payin_about_another_payment_is_counted_ignored_not_stored(tmp_path: Path) -> None:
    with run_stack(tmp_path) as stack:
        stack.settled_checkout("success")
        open_id = stack.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize_payload(stack.saleor))[
            "pspReference"
        ]
        body = json.loads(stack.payin_success_for(open_id, "5b0c7e8e-0000-4000-8000-0000000000b1"))
        another = {**body, "order_reference": "SALEOR-another-payment"}
        before = scrape(stack.app_url)
        assert stack.deliver_signed(json.dumps(another, separators=(",", ":")).encode()).status_code == 200
        after = scrape(stack.app_url)
    webhooks = "paycombat_gateway_paycombat_webhooks_total"
    assert value(after, webhooks, outcome="ignored") - value(before, webhooks, outcome="ignored") == 1
    assert value(after, webhooks, outcome="stored") == value(before, webhooks, outcome="stored")


def test_a_scrape_never_queues_behind_request_work(tmp_path: Path) -> None:
    """Every thread of the flows' database pool and of Starlette's shared pool is held by request work
    that has not finished: a scrape is still answered, on its own thread."""
    settings = make_settings(tmp_path, "https://pay.example.com", "http://127.0.0.1:2")
    database = create_app(settings).state.context.database
    (route,) = metrics_routes(settings, database)
    request = Request(
        {"type": "http", "method": "GET", "path": "/metrics", "headers": [], "query_string": b""}
    )
    released = threading.Event()

    async def main() -> int:
        shared = to_thread.current_default_thread_limiter()
        shared.total_tokens = 1
        busy = [blocking.in_thread(released.wait) for _ in range(blocking.DB_THREADS)]
        busy.append(to_thread.run_sync(released.wait))  # Starlette's run_in_threadpool uses this one
        workers = [asyncio.ensure_future(work) for work in busy]
        while shared.borrowed_tokens < 1 or blocking._limiter().borrowed_tokens < blocking.DB_THREADS:
            await asyncio.sleep(0.01)
        try:
            with anyio.fail_after(20):  # generous: without its own thread it would wait for ever
                response = await route.endpoint(request)
            return response.status_code
        finally:
            released.set()
            await asyncio.gather(*workers)

    assert asyncio.run(main()) == 200
