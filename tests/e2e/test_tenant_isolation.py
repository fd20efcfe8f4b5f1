"""One slow or hostile peer never delays another tenant (issue 20's table, one test per row).

Each test runs one app serving two Saleors, each with its own PayCombat configuration. The first
tenant's peer trickles (one byte every half second, for minutes: ``tests.support.trickle``); the test
asserts what the OTHER tenant sees by the order of events (its webhook answered and its report
delivered while the slow peer is still trickling, ``/readyz`` answered), and that the slow peer's own
call ended by its deadline with the right result. Bounds are generous: no timing is asserted tightly.
Where the real deadline is a few seconds, the test lengthens it (the same ``outbound.Deadline``, read
when the call is made), so "still trickling" holds on a loaded machine too; the initialize row keeps
the real one, since answering Saleor inside its 18 s is the point.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from paycombat_gateway import outbound
from paycombat_gateway.background import outbox as outbox_module
from paycombat_gateway.background.problems import ProblemsCheck
from paycombat_gateway.gateway import context as context_module
from paycombat_gateway.outbound import Deadline
from paycombat_gateway.saleor import jwks as jwks_module
from paycombat_gateway.saleor.webhooks import SyncEvent
from paycombat_gateway.settings import ProblemsSettings, ReconcileSettings
from paycombat_gateway.storage.configs import get_config
from paycombat_gateway.storage.models import OutboxReport, PaymentSession, utcnow
from paycombat_gateway.web.config_api import schema as schema_module
from tests.support.saleor_double import SigningKey, gateway_payload, initialize_payload, process_payload
from tests.support.stack import ACCOUNT, PATHS, Stack, run_tenants
from tests.support.trickle import TRICKLE_FOR, run_trickling_paycombat

LONG = 60.0  # the most any wait here may take; far below the trickle's TRICKLE_FOR
assert LONG < TRICKLE_FOR


def _ready(stack: Stack) -> None:
    response = requests.get(f"{stack.app_url}/readyz", timeout=10)
    assert response.status_code == 200, response.text


def _in_background(work: Callable[[], Any]) -> Future[Any]:
    pool = ThreadPoolExecutor(1)
    future = pool.submit(work)
    pool.shutdown(wait=False)
    return future


def _served_while_pending(other: Stack, trickling: Callable[[], bool], pending: Future[Any]) -> None:
    """Once the slow peer trickles: the other tenant's payment starts and ``/readyz`` answers, both
    while the slow tenant's own webhook (``pending``) still waits for its peer."""
    other.wait_until(trickling, timeout=LONG)
    answer = other.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize_payload(other.saleor))
    assert answer["result"] == "CHARGE_ACTION_REQUIRED"
    _ready(other)
    assert not pending.done()


def _point_config_at(stack: Stack, api_url: str) -> None:
    """Move the tenant's configuration to another PayCombat (the app rebuilds its client)."""
    with stack.ctx.database.session() as session:
        config = get_config(session, stack.config_id)
        assert config is not None
        config.api_url = api_url
        config.updated_at = utcnow()
    stack.ctx.configs.invalidate()


def test_a_trickling_saleor_holds_back_only_its_own_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row 1: one tenant's Saleor trickles its GraphQL answers; the other's reports go on."""
    deadline = Deadline(total=12.0, connect=2.0)  # SALEOR_REPORT, long enough for a loaded machine
    monkeypatch.setattr(outbox_module, "SALEOR_REPORT", deadline)
    with run_tenants(tmp_path) as (slow, other):
        initialize = initialize_payload(slow.saleor)
        checkout_id = slow.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)["pspReference"]
        slow.wait_until(slow.outbox_settled)
        slow.saleor.mode = "trickle"
        slow.sandbox.settle(checkout_id, "success")
        slow.wait_until(lambda: slow.saleor.trickles.open("graphql") > 0, timeout=LONG)

        other.settled_checkout("success")  # returns once the other Saleor has its CHARGE_SUCCESS
        assert slow.saleor.trickles.open("graphql") > 0  # ... while the slow Saleor still trickles
        _ready(other)

        # The slow Saleor's own report ended at its deadline and waits for a retry, nothing lost.
        slow.wait_until(lambda: bool(slow.saleor.trickles.durations("graphql")), timeout=LONG)
        assert min(slow.saleor.trickles.durations("graphql")) >= deadline.total * 0.8
        with slow.ctx.database.session() as session:
            report = (
                session.query(OutboxReport)
                .filter_by(event_type="CHARGE_SUCCESS", psp_reference=checkout_id)
                .one()
            )
            assert report.state == "pending"
            assert "did not answer within" in (report.last_error or "")


def test_forged_webhooks_naming_a_saleor_whose_jwks_trickles_delay_no_one_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row 2: 60 forged webhooks with random key ids name an installed Saleor whose JWKS trickles."""
    deadline = Deadline(total=12.0, connect=2.0)  # JWKS_FETCH, long enough for a loaded machine
    monkeypatch.setattr(jwks_module, "JWKS_FETCH", deadline)
    with run_tenants(tmp_path) as (slow, other):
        slow.saleor.jwks_mode = "trickle"
        payload = gateway_payload(slow.saleor)
        event = SyncEvent.PAYMENT_GATEWAY_INITIALIZE_SESSION

        def forge() -> requests.Response:
            body = slow.saleor.serialise(payload)
            signature = slow.saleor.sign(body, SigningKey.generate())  # a key id Saleor never had
            return slow.saleor.send_webhook(
                slow.app_url, PATHS[event], event.value, payload, body=body, signature=signature
            )

        with ThreadPoolExecutor(60) as forgers:
            forged = [forgers.submit(forge) for _ in range(60)]
            slow.wait_until(lambda: slow.saleor.trickles.open("jwks") > 0, timeout=LONG)

            answer = other.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize_payload(other.saleor))
            assert answer["result"] == "CHARGE_ACTION_REQUIRED"
            _ready(other)
            assert slow.saleor.trickles.open("jwks") > 0  # all of that while the JWKS still trickled
            statuses = {future.result(timeout=LONG).status_code for future in forged}

        assert statuses == {401}
        durations = slow.saleor.trickles.durations("jwks")
        # The fetch the forgeries waited for ran to its deadline; none outlived it.
        assert durations and max(durations) >= deadline.total * 0.8
        assert max(durations) < deadline.total + LONG / 2
        # Single-flight: one fetch serves every forgery that arrived before it began (a loaded machine
        # spreads the 60 arrivals over a few fetches), never one fetch per forgery.
        assert slow.saleor.trickles.started("jwks") <= 10


def test_paycombat_trickling_during_initialize_answers_saleor_in_time_with_a_failure(
    tmp_path: Path,
) -> None:
    """Row 3: PayCombat trickles during transactionInitialize: Saleor gets a failure inside its 18 s."""
    with (
        run_trickling_paycombat() as paycombat,
        run_tenants(tmp_path, slow_paycombat_url=paycombat.base_url) as (slow, other),
    ):
        started = time.monotonic()
        slow_answer = _in_background(
            lambda: slow.send(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize_payload(slow.saleor))
        )
        _served_while_pending(other, lambda: paycombat.trickles.open() > 0, slow_answer)

        response = slow_answer.result(timeout=LONG)
        elapsed = time.monotonic() - started
        assert response.status_code == 200
        assert response.json()["result"] == "CHARGE_FAILURE"
        assert elapsed < 18  # Saleor's limit for a sync webhook
        slow.wait_until(lambda: bool(paycombat.trickles.durations()), timeout=LONG)
        assert min(paycombat.trickles.durations()) >= outbound.PAYCOMBAT_IN_WEBHOOK.total * 0.8


def test_paycombat_trickling_during_process_answers_from_what_is_known_in_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row 3, transactionProcess: its one look-up at a trickling PayCombat ends by its deadline and
    Saleor is answered from what the app knew (the hosted checkout still waiting for the shopper)."""
    deadline = Deadline(total=12.0, connect=2.0)  # PAYCOMBAT_LOOKUP_IN_WEBHOOK, for a loaded machine
    monkeypatch.setattr(context_module, "PAYCOMBAT_LOOKUP_IN_WEBHOOK", deadline)
    with run_trickling_paycombat() as paycombat, run_tenants(tmp_path) as (slow, other):
        initialize = initialize_payload(slow.saleor)
        slow.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)
        _point_config_at(slow, paycombat.base_url)  # PayCombat trickles from now on
        started = time.monotonic()
        slow_answer = _in_background(
            lambda: slow.send(SyncEvent.TRANSACTION_PROCESS_SESSION, process_payload(slow.saleor, initialize))
        )
        _served_while_pending(other, lambda: paycombat.trickles.open() > 0, slow_answer)

        response = slow_answer.result(timeout=LONG)
        assert response.status_code == 200
        assert response.json()["result"] == "CHARGE_ACTION_REQUIRED"
        assert time.monotonic() - started < 18
        slow.wait_until(lambda: bool(paycombat.trickles.durations()), timeout=LONG)
        assert min(paycombat.trickles.durations()) >= deadline.total * 0.8


def test_a_trickling_paycombat_configuration_is_paused_while_others_are_reconciled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row 4: one configuration's PayCombat trickles; another tenant's lost-webhook payment is
    reconciled beside it, and the slow configuration is paused on its own (the timeout is a failure)."""
    deadline = Deadline(total=15.0, connect=2.0)  # PAYCOMBAT_BACKGROUND shortened for the test
    monkeypatch.setattr(context_module, "PAYCOMBAT_BACKGROUND", deadline)
    off = ReconcileSettings(enabled=False, after_seconds=0.05, interval_seconds=0.05, calls_per_second=1000)
    with run_trickling_paycombat() as paycombat, run_tenants(tmp_path, reconcile=off) as (slow, other):
        slow_checkout = slow.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize_payload(slow.saleor))
        _point_config_at(slow, paycombat.base_url)  # from now on its PayCombat trickles
        other.sandbox.drop_webhooks(account=ACCOUNT.name)
        initialize = initialize_payload(other.saleor)
        other_checkout = other.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize)["pspReference"]
        other.sandbox.settle(other_checkout, "success")  # its webhook is lost
        with other.ctx.database.session() as session:  # both open long enough to be looked up
            for row in session.query(PaymentSession):
                row.created_at = utcnow() - timedelta(minutes=5)
        reconciler = other.app.state.reconciler
        # The slow configuration's payments first in the queue, as in the finding.
        findings = _in_background(reconciler.run_once)

        other.wait_until(lambda: bool(other.reports("CHARGE_SUCCESS")), timeout=LONG)
        assert paycombat.trickles.open() > 0  # reconciled while the other PayCombat still trickled
        _ready(other)

        by_checkout = {finding.checkout_id: finding for finding in findings.result(timeout=LONG)}
        slow_finding = by_checkout[slow_checkout["pspReference"]]
        assert slow_finding.tally == "unavailable" and "paused" in slow_finding.outcome
        assert by_checkout[other_checkout].outcome.startswith("CHARGE_SUCCESS reported")
        assert min(paycombat.trickles.durations()) >= deadline.total * 0.8
        assert slow.config_id in reconciler._paused_now()  # left out of the next claims on its own
        with slow.ctx.database.session() as session:
            row = session.query(PaymentSession).filter_by(checkout_id=slow_checkout["pspReference"]).one()
            assert (row.reconcile_attempts, row.reconcile_claimed_by) == (0, None)  # given back unchanged


def test_a_test_connection_flood_against_a_tarpit_delays_no_one_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row 5: a tenant floods testConnection against a PayCombat that trickles."""
    deadline = Deadline(total=15.0, connect=3.0)  # PAYCOMBAT_TEST_CONNECTION, for a loaded machine
    monkeypatch.setattr(schema_module, "PAYCOMBAT_TEST_CONNECTION", deadline)
    mutation = (
        'mutation T($url: String!) { testConnection(xToken: "snd_x", signatureKey: "snd_k", '
        "apiUrl: $url) { ok message } }"
    )
    with run_trickling_paycombat() as tarpit, run_tenants(tmp_path) as (slow, other):
        with ThreadPoolExecutor(12) as flooders:
            tests = [flooders.submit(slow.graphql, mutation, {"url": tarpit.base_url}) for _ in range(12)]
            slow.wait_until(lambda: tarpit.trickles.open() >= 12, timeout=LONG)

            answer = other.call(SyncEvent.TRANSACTION_INITIALIZE_SESSION, initialize_payload(other.saleor))
            assert answer["result"] == "CHARGE_ACTION_REQUIRED"
            page = other.graphql("{ configurations { id } }")
            assert page["data"]["configurations"] == [{"id": other.config_id}]
            _ready(other)
            assert tarpit.trickles.open() >= 12  # all of that while every test still trickled
            results = [future.result(timeout=LONG)["data"]["testConnection"] for future in tests]

        assert {result["ok"] for result in results} == {False}
        assert min(tarpit.trickles.durations()) >= deadline.total * 0.8


def test_unsigned_deliveries_to_a_slow_paycombat_are_bounded_per_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row 6: unsigned deliveries to a configuration whose PayCombat trickles take at most its own
    few look-ups (the rest are refused at once) and hold no one else's webhooks."""
    deadline = Deadline(total=15.0, connect=2.0)  # PAYCOMBAT_LOOKUP_IN_WEBHOOK, for a loaded machine
    monkeypatch.setattr(context_module, "PAYCOMBAT_LOOKUP_IN_WEBHOOK", deadline)
    with (
        run_trickling_paycombat() as paycombat,
        run_tenants(tmp_path, slow_paycombat_url=paycombat.base_url) as (slow, other),
    ):
        with slow.ctx.database.session() as session:
            config = get_config(session, slow.config_id)
            assert config is not None
            config.allow_unsigned_webhooks = True
        slow.ctx.configs.invalidate()
        url = f"{slow.app_url}/api/webhooks/paycombat/{slow.config_id}"

        def unsigned() -> requests.Response:
            body = {
                "id": str(uuid.uuid4()),
                "status": "SUCCESS",
                "type": "PAYIN",
                "amount": 1,
                "amount_type": "USD",
            }
            return requests.post(url, data=json.dumps(body), timeout=LONG)

        with ThreadPoolExecutor(20) as senders:
            sent = [senders.submit(unsigned) for _ in range(20)]
            slow.wait_until(lambda: paycombat.trickles.open() > 0, timeout=LONG)
            other.settled_checkout("success")  # its PayCombat webhook stored, its report delivered
            _ready(other)
            assert paycombat.trickles.open() > 0  # all of that while the look-ups still trickled
            statuses = [future.result(timeout=LONG).status_code for future in sent]

        assert set(statuses) == {503}  # refused at once beyond the share, or PayCombat too late
        assert paycombat.trickles.started() <= outbound.UNSIGNED_LOOKUPS_AT_ONCE
        assert min(paycombat.trickles.durations()) >= deadline.total * 0.8


def test_a_saleor_trickling_during_the_problems_check_holds_back_no_one_elses_reports(
    tmp_path: Path,
) -> None:
    """The problems check runs on the background loop beside the outbox: while it waits on a Saleor
    that trickles, another tenant's report is still delivered, and the check's own call ends by its
    deadline."""
    problems = ProblemsSettings(check_seconds=0.2)
    with run_tenants(tmp_path, problems=problems) as (slow, other):
        assert isinstance(slow.app.state.problems, ProblemsCheck)
        assert slow.app.state.problems in slow.app.state.background.workers  # not a thread of its own
        slow.wait_until(slow.outbox_settled)  # nothing of the slow tenant's is owed: only the check asks
        slow.saleor.mode = "trickle"
        slow.wait_until(lambda: slow.saleor.trickles.open("graphql") > 0, timeout=LONG)

        other.settled_checkout("success")  # returns once the other Saleor has its CHARGE_SUCCESS
        assert slow.saleor.trickles.open("graphql") > 0  # ... while the check still waits on the slow one
        _ready(other)

        # The check's call to the slow Saleor ended at its deadline (SALEOR_REPORT), not the trickle's end.
        slow.wait_until(lambda: bool(slow.saleor.trickles.durations("graphql")), timeout=LONG)
        assert max(slow.saleor.trickles.durations("graphql")) < outbound.SALEOR_REPORT.total + LONG / 2
