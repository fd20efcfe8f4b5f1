"""Webhooks are retried with backoff while the receiver answers non-2xx or cannot be reached, always the
same signed bytes, and every attempt is recorded."""

from __future__ import annotations

import itertools
import socket
from datetime import datetime

import requests

from paycombat_gateway.paycombat.signing import compute_signature
from paycombat_gateway.sandbox.server import RunningSandbox
from tests.sandbox.conftest import ACCOUNT, FAST_RETRIES, Api, parse
from tests.support.receiver import run_receiver


def _gaps(attempts: list[dict[str, object]]) -> list[float]:
    times = [datetime.fromisoformat(str(attempt["at"])) for attempt in attempts]
    return [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)]


def test_retried_with_backoff_until_the_receiver_takes_it(api: Api, sandbox: RunningSandbox) -> None:
    with run_receiver(statuses=[500, 503, 302]) as receiver:
        checkout = api.create_checkout(webhook_url=receiver.url)
        sandbox.settle(checkout["id"], "failed")
        deliveries = receiver.wait_for(4)
        assert sandbox.wait_for_webhooks()
    assert len({d.body for d in deliveries}) == 1  # the same bytes every time ...
    assert {d.headers["x-signature"] for d in deliveries} == {
        compute_signature(deliveries[0].body, ACCOUNT.signature_key)
    }
    (record,) = sandbox.deliveries()
    assert record["event"] == "PAYIN_FAILED" and record["checkout_id"] == checkout["id"]
    assert [attempt["status"] for attempt in record["attempts"]] == [
        500,
        503,
        302,
        200,
    ]  # redirects not followed
    assert [attempt["number"] for attempt in record["attempts"]] == [1, 2, 3, 4]
    assert record["delivered"] is True and record["gave_up"] is False and record["next_attempt_at"] is None
    for gap, delay in zip(_gaps(record["attempts"]), FAST_RETRIES, strict=True):
        assert gap >= delay - 0.002  # waited at least the configured backoff (timestamps are in ms)


def test_an_unreachable_receiver_is_retried_then_given_up(api: Api, sandbox: RunningSandbox) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends: nothing listens there
    checkout = api.create_checkout(webhook_url=f"http://127.0.0.1:{port}/hook")
    sandbox.settle(checkout["id"], "success")
    assert sandbox.wait_for_webhooks()
    (record,) = sandbox.deliveries("PAYIN_SUCCESS")
    assert len(record["attempts"]) == len(FAST_RETRIES) + 1
    assert all(
        attempt["status"] is None and attempt["error"] == "ConnectionError" for attempt in record["attempts"]
    )
    assert record["delivered"] is False and record["gave_up"] is True


def test_deliveries_can_be_inspected_over_http(api: Api, sandbox: RunningSandbox) -> None:
    with run_receiver() as receiver:
        first = api.create_checkout(webhook_url=receiver.url)
        second = api.create_checkout(webhook_url=receiver.url)
        sandbox.settle(first["id"], "success")
        sandbox.settle(second["id"], "expired")
        receiver.wait_for(2)
        assert sandbox.wait_for_webhooks()
    everything = parse(requests.get(f"{sandbox.base_url}/_sandbox/deliveries", timeout=5))["data"]
    assert [d["event"] for d in everything] == ["PAYIN_SUCCESS", "PAYIN_EXPIRED"]
    assert all(d["delivered"] and len(d["attempts"]) == 1 and "_account" not in d for d in everything)
    expired = parse(
        requests.get(f"{sandbox.base_url}/_sandbox/deliveries", params={"event": "PAYIN_EXPIRED"}, timeout=5)
    )
    assert [d["checkout_id"] for d in expired["data"]] == [second["id"]]
    one = parse(
        requests.get(
            f"{sandbox.base_url}/_sandbox/deliveries", params={"checkout_id": first["id"]}, timeout=5
        )
    )
    assert [d["event"] for d in one["data"]] == ["PAYIN_SUCCESS"]


def test_no_webhook_url_means_no_delivery(api: Api, sandbox: RunningSandbox) -> None:
    checkout = api.create_checkout(webhook_url=None)
    sandbox.settle(checkout["id"], "success")
    assert sandbox.wait_for_webhooks() and sandbox.deliveries() == []
