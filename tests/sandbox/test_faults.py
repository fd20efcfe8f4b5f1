"""``POST /_sandbox/faults`` makes matching requests fail, answer garbage or stall a number of times."""

from __future__ import annotations

import time

import pytest
import requests

from paycombat_gateway.sandbox.errors import SandboxError
from paycombat_gateway.sandbox.server import RunningSandbox
from tests.sandbox.conftest import Api, parse, payment_request

CREATE = "/api/v1/checkout/payment-request"


def test_a_status_fault_answers_instead_and_stores_nothing(api: Api, sandbox: RunningSandbox) -> None:
    sandbox.add_fault(CREATE, status=503, count=2)
    for _ in range(2):
        response = api.call("create_payment_request", payment_request())
        assert response.status_code == 503
        assert parse(response) == {"status": False, "message": "Injected fault: HTTP 503"}
    assert sandbox.store.count("checkout") == 0
    assert api.call("create_payment_request", payment_request()).status_code == 200  # spent after count uses
    assert sandbox.store.count("checkout") == 1


def test_a_body_fault_answers_the_raw_text(api: Api, sandbox: RunningSandbox) -> None:
    sandbox.add_fault(CREATE, status=200, body="<html>oops</html>", content_type="text/html")
    response = api.call("create_payment_request", payment_request())
    assert (response.status_code, response.text, response.headers["content-type"]) == (
        200,
        "<html>oops</html>",
        "text/html; charset=utf-8",
    )
    sandbox.add_fault(CREATE, body='{"message":"no status"}')
    assert api.call("create_payment_request", payment_request()).text == '{"message":"no status"}'
    assert sandbox.store.count("checkout") == 0


def test_a_delay_only_fault_is_slow_but_served(api: Api, sandbox: RunningSandbox) -> None:
    sandbox.add_fault(CREATE, delay_seconds=0.3)
    started = time.monotonic()
    response = api.call("create_payment_request", payment_request())
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 200 and sandbox.store.count("checkout") == 1


def test_a_fault_matches_its_prefix_only(api: Api, sandbox: RunningSandbox) -> None:
    checkout = api.create_checkout()
    sandbox.add_fault(f"/api/v1/checkout/retrieve/{checkout['id']}", status=500)
    assert api.call("get_all_checkout").status_code == 200
    assert api.call("get_detail_checkout", checkout_id=checkout["id"]).status_code == 500
    assert api.call("get_detail_checkout", checkout_id=checkout["id"]).status_code == 200


def test_the_hosted_page_can_fail_too(api: Api, sandbox: RunningSandbox) -> None:
    checkout = api.create_checkout()
    sandbox.add_fault("/checkout/", status=502)
    assert requests.get(checkout["checkout_url"], timeout=5).status_code == 502
    assert requests.get(checkout["checkout_url"], timeout=5).status_code == 200


def test_faults_are_listed_and_cleared(api: Api, sandbox: RunningSandbox) -> None:
    sandbox.add_fault(CREATE, status=500, count=5)
    armed = parse(requests.get(f"{sandbox.base_url}/_sandbox/faults", timeout=5))["data"]
    assert armed == [
        {
            "path_prefix": CREATE,
            "status": 500,
            "delay_seconds": 0.0,
            "body": None,
            "count": 5,
            "content_type": "application/json",
        }
    ]
    assert requests.delete(f"{sandbox.base_url}/_sandbox/faults", timeout=5).status_code == 200
    assert api.call("create_payment_request", payment_request()).status_code == 200


@pytest.mark.parametrize(
    "spec",
    [
        {"path_prefix": CREATE, "delay_seconds": 31},
        {"path_prefix": CREATE, "delay_seconds": -1},
        {"path_prefix": CREATE, "status": 99},
        {"path_prefix": CREATE, "status": 503, "count": 0},
        {"path_prefix": CREATE, "body": 5},
        {"path_prefix": "/_sandbox/faults", "status": 500},
        {"path_prefix": "api/v1", "status": 500},
        {"path_prefix": CREATE},
    ],
)
def test_fault_specs_are_validated(shared_sandbox: RunningSandbox, spec: dict[str, object]) -> None:
    sandbox = shared_sandbox
    prefix = str(spec.pop("path_prefix"))
    with pytest.raises(SandboxError) as refused:
        sandbox.add_fault(prefix, **spec)
    assert refused.value.status == 422
    assert parse(requests.get(f"{sandbox.base_url}/_sandbox/faults", timeout=5))["data"] == []
