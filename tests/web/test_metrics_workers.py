"""``/metrics`` under ``serve --workers 2``: whichever process answers a scrape, it counts the work of
both, and the database's figures are the same; ``METRICS_LISTEN`` serves them from the parent."""

from __future__ import annotations

import os
import time
from pathlib import Path

import requests

from paycombat_gateway.saleor.webhooks import SyncEvent
from paycombat_gateway.sandbox.server import run_sandbox
from paycombat_gateway.storage.configs import create_config, map_channels
from paycombat_gateway.storage.db import Database
from paycombat_gateway.storage.installations import get_installation
from paycombat_gateway.storage.secrets import SecretBox
from tests.support.saleor_double import initialize_payload, run_saleor
from tests.support.serve_process import free_port, serve_process
from tests.support.stack import ACCOUNT, PATHS
from tests.web.test_metrics import parse, value

TOKEN = "workers-scrape-token-5d2e8a"
SECRET_KEY = "workers-secret-key-long-enough"


def _add_config(database_url: str, data_dir: Path, saleor_api_url: str) -> None:
    database = Database.from_url(database_url)
    try:
        with database.session() as session:
            installation = get_installation(session, saleor_api_url)
            assert installation is not None
            config = create_config(
                session, SecretBox.from_setting(SECRET_KEY, data_dir), installation_id=installation.id,
                name="Main", x_token=ACCOUNT.x_token, signature_key=ACCOUNT.signature_key,
            )  # fmt: skip
            map_channels(session, installation.id, config.id, ["default-channel"])
    finally:
        database.dispose()


def _wait(condition: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def _writers(tmp_path: Path) -> set[str]:
    """The processes that have written histogram counts to the shared metrics folder, by pid."""
    return {path.stem.rsplit("_", 1)[1] for path in (tmp_path / "data" / "metrics").glob("histogram_*.db")}


def test_metrics_count_every_worker_whichever_answers(tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    database_url = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    with run_saleor() as saleor, run_sandbox([ACCOUNT]) as sandbox:
        env = {
            key: value for key, value in os.environ.items() if not key.startswith(("APP_", "DATABASE_URL"))
        }
        env.update(
            APP_URL=f"http://127.0.0.1:{port}", APP_SECRET_KEY=SECRET_KEY, DATA_DIR=str(tmp_path / "data"),
            DATABASE_URL=database_url, ALLOWED_SALEOR_URLS=saleor.api_url, PAYCOMBAT_API_URL=sandbox.base_url,
            METRICS_LISTEN=f"127.0.0.1:{metrics_port}", METRICS_TOKEN=TOKEN, OUTBOX_POLL_SECONDS="0.2",
            LOG_FORMAT="text",
        )  # fmt: skip
        with serve_process(env, port, timeout=60, options=("--workers", "2")) as served:
            assert saleor.register(served.url).status_code == 200
            _add_config(database_url, tmp_path / "data", saleor.api_url)
            initialize = initialize_payload(saleor)
            path = PATHS[SyncEvent.TRANSACTION_INITIALIZE_SESSION]
            started = saleor.send_webhook(served.url, path, "TRANSACTION_INITIALIZE_SESSION", initialize)
            assert started.status_code == 200, started.text
            sandbox.settle(started.json()["pspReference"], "success")
            _wait(lambda: any(report["type"] == "CHARGE_SUCCESS" for report in saleor.reports))
            # The kernel spreads new connections over both processes, unevenly: ask until each has
            # answered some (and so written counts of its own), then check the sum of both.
            probes = 0
            while probes < 30 or (len(_writers(tmp_path)) < 2 and probes < 600):
                assert requests.get(f"{served.url}/healthz", timeout=5).status_code == 200
                probes += 1
            assert len(_writers(tmp_path)) == 2, _writers(
                tmp_path
            )  # both answered and wrote their own counts

            not_here = requests.get(f"{served.url}/metrics", timeout=5)
            assert not_here.status_code == 404  # METRICS_LISTEN: not on the app's port
            metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
            assert requests.get(metrics_url, timeout=5).status_code == 401
            scrapes = []
            for _ in range(4):
                response = requests.get(metrics_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
                assert response.status_code == 200
                scrapes.append(parse(response.text))
    assert "Traceback" not in served.stderr
    healthz = {"route": "/healthz", "status": "200"}
    for samples in scrapes:
        # ours, and serve_process's first probe: all of them, whichever process answered the scrape
        assert (
            value(samples, "paycombat_gateway_http_request_duration_seconds_count", **healthz) == probes + 1
        )
        assert value(
            samples, "paycombat_gateway_paycombat_request_duration_seconds_count",
            endpoint="create_payment_request", outcome="ok",
        ) == 1  # fmt: skip
        assert value(samples, "paycombat_gateway_paycombat_webhooks_total", outcome="stored") >= 1
        assert value(samples, "paycombat_gateway_outbox_deliveries_total", outcome="sent") >= 1
        assert value(samples, "paycombat_gateway_outbox_reports", state="parked") == 0
        assert value(samples, "paycombat_gateway_database_up") == 1
    assert saleor.base_url.split("://", 1)[1] not in response.text and ACCOUNT.x_token not in response.text
