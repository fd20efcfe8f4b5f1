"""Names are resolved on the event loop, never in a thread: a host whose DNS never answers costs its
call the call's deadline and holds none of asyncio's few default executor threads (where aiohttp's
default ``ThreadedResolver`` would run ``getaddrinfo``, for everyone)."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from paycombat_gateway import outbound
from paycombat_gateway.background.runner import BackgroundRunner
from paycombat_gateway.gateway.context import GatewayContext
from paycombat_gateway.outbound import Deadline, open_session, request_bounded
from tests.support.dns import SilentNameserver, run_silent_nameserver
from tests.support.receiver import run_receiver
from tests.support.stack import make_settings

DEADLINE = Deadline(total=2.0, connect=2.0)
NOWHERE = "http://never-answers.saleor.test/graphql/"


class RecordingExecutor(ThreadPoolExecutor):
    """A loop's default executor that records the name of every job handed to it. aiohttp's
    ``ThreadedResolver`` would hand it ``getaddrinfo``; ``trust_env`` sessions hand it their short
    ``.netrc`` reads, which wait on no network."""

    jobs: list[str]

    def __init__(self) -> None:
        super().__init__(1)
        self.jobs = []

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.jobs.append(getattr(fn, "__name__", repr(fn)))
        return super().submit(fn, *args, **kwargs)

    def looked_up_names(self) -> bool:
        return any("getaddrinfo" in job for job in self.jobs)


async def _nowhere_and_somewhere(http: aiohttp.ClientSession, somewhere: str) -> tuple[object, int]:
    """Call the never-resolving host and, beside it, a server by its address: what each came to."""
    nowhere = asyncio.ensure_future(request_bounded(http, "GET", NOWHERE, deadline=DEADLINE, limit=1024))
    status, _ = await request_bounded(http, "POST", somewhere, deadline=DEADLINE, limit=1024)
    assert not nowhere.done()  # the other call was answered while the look-up still waited
    try:
        await nowhere
    except TimeoutError as exc:
        return exc, status
    return "answered", status


def test_the_servers_session_resolves_on_the_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with run_silent_nameserver() as nameserver, run_receiver() as receiver:
        monkeypatch.setattr(outbound, "dns_resolver", nameserver.resolver)
        ctx = GatewayContext.create(make_settings(tmp_path, "http://127.0.0.1:1", receiver.base_url))

        async def main() -> tuple[object, int]:
            asyncio.get_running_loop().set_default_executor(executor)
            try:
                return await _nowhere_and_somewhere(ctx.http(), receiver.url)
            finally:
                await ctx.aclose_loop()

        executor = RecordingExecutor()
        outcome, status = asyncio.run(main())
        ctx.close()

        assert isinstance(outcome, TimeoutError) and status == 200
        assert nameserver.queries() > 0  # the name was asked of the (silent) nameserver ...
        assert not executor.looked_up_names()  # ... and no thread waited for it


class _Caller:
    name = "caller"

    def __init__(self, somewhere: str) -> None:
        self.somewhere = somewhere
        self.outcome: tuple[object, int] | None = None
        self.executor = RecordingExecutor()

    def prepare(self) -> None:
        pass

    async def serve(self, stopping: asyncio.Event, http: aiohttp.ClientSession) -> None:
        asyncio.get_running_loop().set_default_executor(self.executor)
        self.outcome = await _nowhere_and_somewhere(http, self.somewhere)

    def finish(self) -> None:
        pass


def test_the_background_loops_session_resolves_on_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    with run_silent_nameserver() as nameserver, run_receiver() as receiver:
        monkeypatch.setattr(outbound, "dns_resolver", nameserver.resolver)
        caller = _Caller(receiver.url)
        background = BackgroundRunner(None, caller)
        background.start()
        try:
            for _ in range(200):
                if caller.outcome is not None:
                    break
                time.sleep(0.1)
        finally:
            background.stop()

        assert caller.outcome is not None
        outcome, status = caller.outcome
        assert isinstance(outcome, TimeoutError) and status == 200
        assert nameserver.queries() > 0 and not caller.executor.looked_up_names()


def test_every_other_aiohttp_session_resolves_on_the_loop_too() -> None:
    """The PayCombat clients' sessions take aiohttp's default resolver: with ``aiodns`` installed (a
    dependency for this reason) that is ``AsyncResolver``, not ``ThreadedResolver``."""
    assert aiohttp.resolver.DefaultResolver is aiohttp.AsyncResolver


def test_the_silent_nameserver_really_never_answers() -> None:
    """The premise of the tests above: a look-up through it is still waiting when its deadline ends."""

    async def look_up(nameserver: SilentNameserver) -> None:
        resolver = nameserver.resolver()
        try:
            async with asyncio.timeout(1.0):
                await resolver.resolve("anything.saleor.test", 443)
        finally:
            await resolver.close()

    with run_silent_nameserver() as nameserver, pytest.raises(TimeoutError):
        asyncio.run(look_up(nameserver))


def test_the_servers_sessions_take_the_environments_proxy_but_never_netrc_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``open_session`` keeps ``trust_env`` off (aiohttp would read ~/.netrc and send its credentials to
    a matching Saleor host) and ``request_bounded`` still goes through ``HTTP(S)_PROXY``."""
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine saleor.proxied.test login merchant password netrc_secret_7f3a\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.delenv("no_proxy", raising=False)
    with run_receiver() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
        monkeypatch.delenv("http_proxy", raising=False)

        async def call() -> int:
            async with open_session() as http:
                status, _ = await request_bounded(
                    http, "POST", "http://saleor.proxied.test/hook", deadline=DEADLINE, limit=1024
                )
                return status

        assert asyncio.run(call()) == 200  # the name does not resolve: only the proxy could answer
        (arrived,) = proxy.received + proxy.stray
        assert arrived.headers["host"] == "saleor.proxied.test"
        assert "authorization" not in arrived.headers and "proxy-authorization" not in arrived.headers
