"""Retries never double a payment; timeouts are the configured ones; errors never carry secrets."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
import requests

from paycombat_gateway.paycombat import errors
from paycombat_gateway.paycombat.client import PaycombatClient
from paycombat_gateway.paycombat.models import PaymentRequest
from paycombat_gateway.sandbox.server import RunningSandbox, SandboxAccount, run_sandbox

ACCOUNT = SandboxAccount(x_token="snd_policy_xtoken_1234", signature_key="snd_policy_sigkey_5678")
REQUEST = PaymentRequest(amount=Decimal("10.00"), currency="USD", country_code="US", description="policy")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with run_sandbox([ACCOUNT]) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_faults(sandbox: RunningSandbox) -> Iterator[None]:
    yield
    requests.delete(f"{sandbox.base_url}/_sandbox/faults", timeout=5)


def _client(sandbox: RunningSandbox, **options: float) -> PaycombatClient:
    return PaycombatClient(ACCOUNT.x_token, ACCOUNT.signature_key, sandbox.base_url, **options)  # type: ignore[arg-type]


def test_get_is_retried_on_503(sandbox: RunningSandbox) -> None:
    client = _client(sandbox)
    checkout = client.create_payment_request(REQUEST)
    sandbox.add_fault(f"/api/v1/checkout/retrieve/{checkout.id}", status=503, count=2)
    assert client.get_detail_checkout(checkout.id).id == checkout.id


def test_post_is_not_retried_on_503(sandbox: RunningSandbox) -> None:
    before = sandbox.store.count("checkout")
    sandbox.add_fault("/api/v1/checkout/payment-request", status=503, count=1)
    with pytest.raises(errors.ServerError) as caught:
        _client(sandbox).create_payment_request(REQUEST)
    assert caught.value.http_status == 503 and caught.value.retryable
    assert sandbox.store.count("checkout") == before


def test_post_is_not_retried_after_a_read_timeout(sandbox: RunningSandbox) -> None:
    before = sandbox.store.count("checkout")
    sandbox.add_fault("/api/v1/checkout/payment-request", delay_seconds=1.0, count=5)
    started = time.monotonic()
    with pytest.raises(errors.TimeoutError):
        _client(sandbox, read_timeout=0.3).create_payment_request(REQUEST)
    assert time.monotonic() - started < 1.0  # the configured read timeout, once
    time.sleep(1.2)
    assert sandbox.store.count("checkout") == before + 1  # exactly one request reached PayCombat


def test_get_is_retried_after_a_read_timeout(sandbox: RunningSandbox) -> None:
    client = _client(sandbox, read_timeout=0.3)
    checkout = client.create_payment_request(REQUEST)
    sandbox.add_fault(f"/api/v1/checkout/retrieve/{checkout.id}", delay_seconds=1.0, count=1)
    assert client.get_detail_checkout(checkout.id).id == checkout.id


def test_connection_refused_is_a_typed_error() -> None:
    client = PaycombatClient("snd_x_token_value", "snd_signature_value", "http://127.0.0.1:9", retries=1)
    with pytest.raises(errors.ConnectionFailed):
        client.create_payment_request(REQUEST)


def test_status_false_on_2xx_is_an_error(sandbox: RunningSandbox) -> None:
    sandbox.add_fault(
        "/api/v1/checkout/payment-request", status=200, body='{"status":false,"message":"nope"}'
    )
    with pytest.raises(errors.InvalidRequestError) as caught:
        _client(sandbox).create_payment_request(REQUEST)
    assert caught.value.paycombat_message == "nope"


@pytest.mark.parametrize("body", ["not json", "[1,2]", '{"message":"no status"}'])
def test_malformed_bodies(sandbox: RunningSandbox, body: str) -> None:
    sandbox.add_fault("/api/v1/checkout/payment-request", status=200, body=body)
    with pytest.raises(errors.MalformedResponseError):
        _client(sandbox).create_payment_request(REQUEST)


def test_errors_never_contain_secrets(sandbox: RunningSandbox) -> None:
    echo = f'{{"status":false,"message":"bad token {ACCOUNT.x_token}","checkout_token":"{"a" * 64}"}}'
    sandbox.add_fault("/api/v1/checkout/payment-request", status=400, body=echo)
    with pytest.raises(errors.InvalidRequestError) as caught:
        _client(sandbox).create_payment_request(REQUEST)
    wrong = PaycombatClient(ACCOUNT.x_token, "snd_wrong_signature_key", sandbox.base_url)
    with pytest.raises(errors.AuthenticationError) as auth:
        wrong.create_payment_request(REQUEST)
    for error in (caught.value, auth.value):
        text = " ".join([str(error), repr(error), str(error.body), str(error.to_dict())])
        for secret in (ACCOUNT.x_token, ACCOUNT.signature_key, "snd_wrong_signature_key", "a" * 64):
            assert secret not in text
    assert "snd_" not in repr(wrong)


@contextmanager
def half_answer_server() -> Iterator[str]:
    """A server that answers one request with half of its promised body, then hangs up; its URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def answer_half() -> None:
        connection, _ = listener.accept()
        connection.recv(65536)
        connection.sendall(
            b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"status": tr'
        )
        connection.close()

    server = threading.Thread(target=answer_half, daemon=True)
    server.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.join(timeout=5)
        listener.close()


def test_a_body_cut_off_in_transit_is_a_connection_failure() -> None:
    """A PayCombat answer that breaks off mid-body is a typed error, never a raw requests exception."""
    with half_answer_server() as url:
        client = PaycombatClient(ACCOUNT.x_token, ACCOUNT.signature_key, url, retries=0)
        with pytest.raises(errors.ConnectionFailed, match="broke off") as caught:
            client.create_payment_request(REQUEST)
        assert ACCOUNT.x_token not in str(caught.value)


@contextmanager
def hanging_up_server() -> Iterator[tuple[str, list[bytes]]]:
    """A server that reads each request and hangs up without answering; its URL and what it read."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    seen: list[bytes] = []
    stop = threading.Event()

    def hang_up() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            seen.append(connection.recv(65536).split(b"\r\n", 1)[0])
            connection.close()

    server = threading.Thread(target=hang_up, daemon=True)
    server.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", seen
    finally:
        stop.set()
        server.join(timeout=5)
        listener.close()


def test_a_request_that_reached_paycombat_is_retried_only_when_it_is_a_get() -> None:
    """A hang-up after the request went out may follow a payment PayCombat made: a POST is not sent
    again (requests calls this ConnectionError, like a refused connection, which is retried)."""
    with hanging_up_server() as (url, seen):
        client = PaycombatClient(ACCOUNT.x_token, ACCOUNT.signature_key, url, retries=2)
        with pytest.raises(errors.ConnectionFailed):
            client.create_payment_request(REQUEST)
        assert [line.split(b" ")[0] for line in seen] == [b"POST"]
        with pytest.raises(errors.ConnectionFailed):
            client.get_detail_checkout("chk_1")
        assert [line.split(b" ")[0] for line in seen] == [b"POST", b"GET", b"GET", b"GET"]
