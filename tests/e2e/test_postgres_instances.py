"""Two app processes behind one PostgreSQL: races between instances end with one checkout and one report.

The two races also run on one SQLite file shared by two processes: not the documented way to run several
instances, but a merchant who starts ``serve`` twice by mistake must not be charged twice either.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from paycombat_gateway.background_server import bind_loopback
from paycombat_gateway.paycombat.signing import compute_signature
from paycombat_gateway.saleor.webhooks import SyncEvent
from paycombat_gateway.sandbox.server import RunningSandbox, run_sandbox
from paycombat_gateway.storage.configs import create_config, map_channels
from paycombat_gateway.storage.db import Database
from paycombat_gateway.storage.installations import get_installation
from paycombat_gateway.storage.migrate import migrate
from paycombat_gateway.storage.models import PaycombatDelivery
from paycombat_gateway.storage.secrets import SecretBox
from tests.support.databases import POSTGRES_ADMIN_DSN, postgres_database_url
from tests.support.saleor_double import SaleorDouble, initialize_payload, run_saleor
from tests.support.stack import ACCOUNT, PATHS, money_reports

SECRET = "two-instances-secret-key-long-enough"


@dataclass
class Cluster:
    urls: list[str]
    saleor: SaleorDouble
    sandbox: RunningSandbox
    database: Database
    database_url: str
    config_id: str
    processes: list[subprocess.Popen[bytes]]


def _free_port() -> int:
    sock = bind_loopback()
    port = int(sock.getsockname()[1])
    sock.close()
    return port


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "an app instance exited during start-up"
        try:
            if requests.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not become ready")


def _start(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "paycombat_gateway", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"),
    )  # fmt: skip


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with postgres_database_url() as url, _cluster(tmp_path, url) as running:
        yield running


@pytest.fixture(params=["postgresql", "sqlite"])
def any_cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    if request.param == "sqlite":
        with _cluster(tmp_path, f"sqlite:///{tmp_path / 'shared.sqlite3'}") as running:
            yield running
    else:
        with postgres_database_url() as url, _cluster(tmp_path, url) as running:
            yield running


@contextmanager
def _cluster(tmp_path: Path, url: str) -> Iterator[Cluster]:
    with run_saleor() as saleor, run_sandbox([ACCOUNT], webhook_retry_delays=(30,)) as sandbox:
        migrate(url)
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "APP_SECRET_KEY": SECRET,
            "APP_URL": "http://127.0.0.1:9",  # PayCombat's own deliveries go nowhere: the tests deliver them
            "ALLOWED_SALEOR_URLS": saleor.api_url,
            "PAYCOMBAT_API_URL": sandbox.base_url,
            "OUTBOX_POLL_SECONDS": "0.2",
            "DATA_DIR": str(tmp_path),
            "LOG_LEVEL": "WARNING",
        }
        ports = [_free_port(), _free_port()]
        env["RUN_OUTBOX_WORKER"] = "false"  # the first instance only takes requests: it is the one killed
        processes = [_start(ports[0], env, tmp_path / "app-0.log")]
        env["RUN_OUTBOX_WORKER"] = "true"
        processes.append(_start(ports[1], env, tmp_path / "app-1.log"))
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        database = Database.from_url(url, pool_size=2)
        try:
            for instance, process in zip(urls, processes, strict=True):
                _wait_healthy(instance, process)
            assert saleor.register(urls[0]).status_code == 200
            with database.session() as session:
                installation = get_installation(session, saleor.api_url)
                assert installation is not None
                config = create_config(
                    session, SecretBox([SECRET]), installation_id=installation.id, name="Main",
                    x_token=ACCOUNT.x_token, signature_key=ACCOUNT.signature_key,
                )  # fmt: skip
                map_channels(session, installation.id, config.id, ["default-channel"])
                config_id = config.id
            yield Cluster(urls, saleor, sandbox, database, url, config_id, processes)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=15)
            database.dispose()


def _at_once(calls: list[Any]) -> list[Any]:
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _initialize(cluster: Cluster, url: str, payload: dict[str, Any]) -> requests.Response:
    event = SyncEvent.TRANSACTION_INITIALIZE_SESSION
    return cluster.saleor.send_webhook(url, PATHS[event], event.value, payload)


def test_same_idempotency_key_on_two_instances_makes_one_checkout(any_cluster: Cluster) -> None:
    cluster = any_cluster
    payload = initialize_payload(cluster.saleor, idempotency_key="race-key")
    answers = _at_once([lambda url=url: _initialize(cluster, url, payload) for url in cluster.urls])
    bodies = [answer.json() for answer in answers]
    assert all(body["result"] == "CHARGE_ACTION_REQUIRED" for body in bodies), bodies
    assert bodies[0]["pspReference"] == bodies[1]["pspReference"]
    assert cluster.sandbox.store.count("checkout") == 1


def test_same_webhook_on_two_instances_gives_one_report(any_cluster: Cluster) -> None:
    cluster = any_cluster
    payload = initialize_payload(cluster.saleor)
    checkout_id = _initialize(cluster, cluster.urls[0], payload).json()["pspReference"]
    cluster.sandbox.settle(checkout_id, "success")
    (delivery,) = [d for d in cluster.sandbox.store.all("delivery") if d["event"] == "PAYIN_SUCCESS"]
    body, signature = delivery["payload"].encode(), delivery["signature"]
    answers = _at_once([
        lambda url=url: requests.post(f"{url}/api/webhooks/paycombat/{cluster.config_id}", data=body,
                                      headers={"X-Signature": signature}, timeout=10)
        for url in cluster.urls * 2
    ])  # fmt: skip
    assert [answer.status_code for answer in answers] == [200, 200, 200, 200]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not cluster.saleor.reports:
        time.sleep(0.1)
    time.sleep(1.0)  # give a wrongly duplicated report the chance to show up
    assert [report["type"] for report in cluster.saleor.reports] == ["CHARGE_SUCCESS"]
    with cluster.database.session() as session:
        assert session.query(PaycombatDelivery).count() == 1
        assert session.query(PaycombatDelivery).one().duplicates == 3
        assert [row.state for row in money_reports(session)] == ["delivered"]


def test_same_unmatched_webhook_on_two_instances_is_stored_once(any_cluster: Cluster) -> None:
    """A delivery that matches no payment is stored by one statement (issue 22): racing copies on two
    instances still store one row, each copy is acknowledged, and the replays are counted."""
    cluster = any_cluster
    body = b'{"id":"p_unknown","status":"SUCCESS","type":"PAYIN","amount":10,"amount_type":"USD",' \
        b'"order_reference":"not-one-of-ours"}'  # fmt: skip
    signature = compute_signature(body, ACCOUNT.signature_key)
    answers = _at_once([
        lambda url=url: requests.post(f"{url}/api/webhooks/paycombat/{cluster.config_id}", data=body,
                                      headers={"X-Signature": signature}, timeout=10)
        for url in cluster.urls * 3
    ])  # fmt: skip
    assert [answer.status_code for answer in answers] == [200] * 6
    assert sorted(answer.json().get("duplicate", False) for answer in answers) == [False] + [True] * 5
    with cluster.database.session() as session:
        (stored,) = session.query(PaycombatDelivery).all()
        assert (stored.match_state, stored.duplicates, stored.raw_body) == ("unmatched", 5, body)
    assert not cluster.saleor.reports


@pytest.mark.postgres
def test_instances_survive_their_database_connections_being_killed(cluster: Cluster) -> None:
    name = cluster.database_url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
    for url in cluster.urls:
        assert requests.get(f"{url}/readyz", timeout=5).status_code == 200
        answer = _initialize(cluster, url, initialize_payload(cluster.saleor)).json()
        assert answer["result"] == "CHARGE_ACTION_REQUIRED"


@pytest.mark.postgres
def test_instance_killed_after_acknowledging_a_webhook_loses_nothing(cluster: Cluster) -> None:
    payload = initialize_payload(cluster.saleor)
    checkout_id = _initialize(cluster, cluster.urls[0], payload).json()["pspReference"]
    cluster.sandbox.settle(checkout_id, "success")
    (delivery,) = [d for d in cluster.sandbox.store.all("delivery") if d["event"] == "PAYIN_SUCCESS"]
    answer = requests.post(
        f"{cluster.urls[0]}/api/webhooks/paycombat/{cluster.config_id}",
        data=delivery["payload"].encode(),
        headers={"X-Signature": delivery["signature"]},
        timeout=10,
    )
    assert answer.status_code == 200  # acknowledged by the instance that runs no outbox worker...
    cluster.processes[0].kill()  # ...which dies at once (SIGKILL), without any shutdown
    cluster.processes[0].wait(timeout=10)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not cluster.saleor.reports:
        time.sleep(0.1)
    assert [report["type"] for report in cluster.saleor.reports] == [
        "CHARGE_SUCCESS"
    ]  # the survivor reported it


def _set_connections_allowed(cluster: Cluster, allowed: bool) -> None:
    name = cluster.database_url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
            )


@pytest.mark.postgres
def test_a_database_outage_is_a_clear_503_and_nothing_is_lost(cluster: Cluster) -> None:
    checkout_id = _initialize(cluster, cluster.urls[1], initialize_payload(cluster.saleor)).json()[
        "pspReference"
    ]
    cluster.sandbox.settle(checkout_id, "success")
    (delivery,) = [d for d in cluster.sandbox.store.all("delivery") if d["event"] == "PAYIN_SUCCESS"]

    def deliver() -> requests.Response:
        return requests.post(
            f"{cluster.urls[1]}/api/webhooks/paycombat/{cluster.config_id}",
            data=delivery["payload"].encode(),
            headers={"X-Signature": delivery["signature"]},
            timeout=15,
        )

    cluster.database.dispose()
    _set_connections_allowed(cluster, False)
    try:
        refused = deliver()
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "STORAGE_UNAVAILABLE"
        initialize = _initialize(cluster, cluster.urls[1], initialize_payload(cluster.saleor))
        assert initialize.status_code == 503
        assert initialize.json()["error"]["code"] == "STORAGE_UNAVAILABLE"
        assert requests.get(f"{cluster.urls[1]}/readyz", timeout=15).status_code == 503
    finally:
        _set_connections_allowed(cluster, True)

    assert deliver().status_code == 200  # PayCombat's retry, once the database is back
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not cluster.saleor.reports:
        time.sleep(0.1)
    assert [report["type"] for report in cluster.saleor.reports] == ["CHARGE_SUCCESS"]
    answer = _initialize(cluster, cluster.urls[1], initialize_payload(cluster.saleor))
    assert answer.json()["result"] == "CHARGE_ACTION_REQUIRED"
