"""The async client is the same client on another transport: same cassettes, retries, errors."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web
from urllib3.util.retry import Retry

from paycombat_gateway.outbound import Deadline
from paycombat_gateway.paycombat import errors
from paycombat_gateway.paycombat.client import AsyncPaycombatClient
from paycombat_gateway.paycombat.contract import DEFAULT_BASE_URL
from paycombat_gateway.paycombat.protocol import BACKOFF_FACTOR, BACKOFF_MAX, backoff_seconds
from paycombat_gateway.sandbox.server import RunningSandbox
from tests.paycombat import test_client_cassettes
from tests.paycombat.conftest import (
    RECORDER,
    RECORDING,
    REPLAY_SIGNATURE_KEY,
    REPLAY_X_TOKEN,
    CassetteSession,
)
from tests.paycombat.test_client_environment import PAYCOMBAT_URL, _ForwardProxy, proxy_url
from tests.paycombat.test_client_policy import ACCOUNT, REQUEST, _no_faults, half_answer_server, sandbox

__all__ = ["_no_faults", "proxy_url", "sandbox"]  # the fixtures, shared with the sync client's tests

CASSETTE_TESTS = [
    test
    for name, test in vars(test_client_cassettes).items()
    if name.startswith("test_") and "paycombat" in inspect.signature(test).parameters
]


class _OnOneLoop:
    """The async client behind the sync client's interface: each call awaited on one event loop, so
    the sync client's cassette tests run unchanged against it."""

    def __init__(self, client: AsyncPaycombatClient, runner: asyncio.Runner) -> None:
        self._client = client
        self._runner = runner

    def __getattr__(self, name: str) -> Callable[..., Any]:
        operation = getattr(self._client, name)
        return lambda *args, **kwargs: self._runner.run(operation(*args, **kwargs))


@pytest.mark.skipif(RECORDING, reason="recording writes cassettes through the sync client; this replays them")
@pytest.mark.parametrize("case", CASSETTE_TESTS, ids=lambda test: test.__name__)
def test_the_async_client_replays_every_cassette(case: Callable[[CassetteSession], None]) -> None:
    with asyncio.Runner() as runner, RECORDER.use_cassette(f"{case.__name__}.yaml"):
        client = AsyncPaycombatClient(REPLAY_X_TOKEN, REPLAY_SIGNATURE_KEY, DEFAULT_BASE_URL, retries=0)
        try:
            case(CassetteSession(client=_OnOneLoop(client, runner), settle=None))  # type: ignore[arg-type]
        finally:
            runner.run(client.aclose())


def test_every_cassette_test_is_replayed_here() -> None:
    assert len(CASSETTE_TESTS) >= 12


def _client(sandbox: RunningSandbox, **options: Any) -> AsyncPaycombatClient:
    return AsyncPaycombatClient(ACCOUNT.x_token, ACCOUNT.signature_key, sandbox.base_url, **options)


def test_get_is_retried_on_503_and_post_is_not(sandbox: RunningSandbox) -> None:
    async def scenario() -> None:
        client = _client(sandbox)
        checkout = await client.create_payment_request(REQUEST)
        sandbox.add_fault(f"/api/v1/checkout/retrieve/{checkout.id}", status=503, count=2)
        assert (await client.get_detail_checkout(checkout.id)).id == checkout.id
        before = sandbox.store.count("checkout")
        sandbox.add_fault("/api/v1/checkout/payment-request", status=503, count=1)
        with pytest.raises(errors.ServerError) as caught:
            await client.create_payment_request(REQUEST)
        assert caught.value.http_status == 503
        assert sandbox.store.count("checkout") == before
        await client.aclose()

    asyncio.run(scenario())


def test_post_is_not_retried_after_a_read_timeout(sandbox: RunningSandbox) -> None:
    async def scenario() -> None:
        client = _client(sandbox, deadline=Deadline(total=5.0, connect=1.0, silence=0.3))
        before = sandbox.store.count("checkout")
        sandbox.add_fault("/api/v1/checkout/payment-request", delay_seconds=1.0, count=5)
        with pytest.raises(errors.TimeoutError):
            await client.create_payment_request(REQUEST)
        await asyncio.sleep(1.2)
        assert sandbox.store.count("checkout") == before + 1  # exactly one request reached PayCombat
        await client.aclose()

    asyncio.run(scenario())


def test_connection_refused_is_a_typed_error() -> None:
    async def scenario() -> None:
        client = AsyncPaycombatClient("snd_x_token_value", "snd_signature_value", "http://127.0.0.1:9")
        with pytest.raises(errors.ConnectionFailed):
            await client.create_payment_request(REQUEST)
        await client.aclose()

    asyncio.run(scenario())


def test_backoff_is_urllib3s_formula() -> None:
    """The waits between retries are the ones the urllib3 ``Retry`` policy used before gave."""
    policy = Retry(total=5, backoff_factor=BACKOFF_FACTOR, backoff_max=BACKOFF_MAX)
    for failures in range(1, 6):
        policy = policy.increment(method="GET", url="/", error=None)
        assert backoff_seconds(failures) == policy.get_backoff_time()


def test_a_body_cut_off_in_transit_is_a_connection_failure() -> None:
    async def scenario(url: str) -> None:
        client = AsyncPaycombatClient(ACCOUNT.x_token, ACCOUNT.signature_key, url, retries=0)
        with pytest.raises(errors.ConnectionFailed, match="broke off") as caught:
            await client.create_payment_request(REQUEST)
        assert ACCOUNT.x_token not in str(caught.value)
        await client.aclose()

    with half_answer_server() as url:
        asyncio.run(scenario(url))


def test_requests_go_through_the_environments_proxy(proxy_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = AsyncPaycombatClient("snd_proxy_xtoken", "snd_proxy_sigkey", PAYCOMBAT_URL, retries=0)
    monkeypatch.delenv("HTTP_PROXY")  # read when the client was built, not per request

    async def scenario() -> None:
        assert (await client.create_payment_request(REQUEST)).id == "chk_via_proxy"
        await client.aclose()

    asyncio.run(scenario())
    assert _ForwardProxy.seen == [f"POST {PAYCOMBAT_URL}/api/v1/checkout/payment-request HTTP/1.1"]


def test_calls_in_flight_stop_at_the_clients_share() -> None:
    """``connections`` is one configuration's share of PayCombat (``outbound.PAYCOMBAT_SHARE`` in the
    app): beyond it a call waits for a connection, inside its own deadline, and is sent once one frees."""

    async def scenario() -> None:
        in_flight = most = 0
        release = asyncio.Event()

        async def create(request: web.Request) -> web.Response:
            nonlocal in_flight, most
            await request.read()
            in_flight += 1
            most = max(most, in_flight)
            await release.wait()
            in_flight -= 1
            data = {
                "id": "pr_share",
                "checkout_token": "token",
                "amount": 10,
                "currency": "USD",
                "checkout_url": "http://127.0.0.1/checkout/?token=token",
                "expire_at": "2026-12-01T00:00:00Z",
            }
            return web.json_response({"status": True, "message": "OK", "data": data})

        app = web.Application()
        app.router.add_post("/api/v1/checkout/payment-request", create)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        client = AsyncPaycombatClient(
            ACCOUNT.x_token, ACCOUNT.signature_key, f"http://127.0.0.1:{port}", connections=3, retries=0
        )
        try:
            calls = [asyncio.create_task(client.create_payment_request(REQUEST)) for _ in range(10)]
            for _ in range(100):
                if in_flight == 3:
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)  # room for a fourth to arrive, were the share not kept
            assert (in_flight, most) == (3, 3)
            release.set()
            checkouts = await asyncio.gather(*calls)
            assert [checkout.id for checkout in checkouts] == ["pr_share"] * 10
            assert most == 3
        finally:
            await client.aclose()
            await runner.cleanup()

    asyncio.run(scenario())
