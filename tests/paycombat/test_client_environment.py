"""The client honours the deployment's proxy settings, read once when it is built."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from paycombat_gateway.paycombat import errors
from paycombat_gateway.paycombat.client import PaycombatClient
from paycombat_gateway.paycombat.models import PaymentRequest

REQUEST = PaymentRequest(amount=Decimal("10.00"), currency="USD", country_code="US", description="proxy")
# Nothing listens here: a request that skipped the proxy fails to connect.
PAYCOMBAT_URL = "http://paycombat.invalid:9"


class _ForwardProxy(BaseHTTPRequestHandler):
    """Answers every request itself and remembers the request line it was sent."""

    seen: list[str] = []

    def do_POST(self) -> None:
        self.seen.append(self.requestline)
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = json.dumps(
            {
                "status": True,
                "message": "OK",
                "data": {"id": "chk_via_proxy", "checkout_token": "tok", "checkout_url": "http://x/"},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def proxy_url() -> Iterator[str]:
    _ForwardProxy.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ForwardProxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_requests_go_through_the_environments_proxy(proxy_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = PaycombatClient("snd_proxy_xtoken", "snd_proxy_sigkey", PAYCOMBAT_URL, retries=0)
    monkeypatch.delenv("HTTP_PROXY")  # read when the client was built, not per request

    assert client.create_payment_request(REQUEST).id == "chk_via_proxy"
    assert _ForwardProxy.seen == [f"POST {PAYCOMBAT_URL}/api/v1/checkout/payment-request HTTP/1.1"]


def test_no_proxy_sends_requests_directly(proxy_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    monkeypatch.setenv("NO_PROXY", "paycombat.invalid")
    client = PaycombatClient("snd_proxy_xtoken", "snd_proxy_sigkey", PAYCOMBAT_URL, retries=0)

    with pytest.raises(errors.ConnectionFailed):
        client.create_payment_request(REQUEST)
    assert _ForwardProxy.seen == []
