"""``run_sandbox`` serves on a free loopback port for the ``with`` block and stops cleanly; accounts."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

import paycombat_gateway.sandbox as sandbox_package
from paycombat_gateway.paycombat.contract import INFERENCES
from paycombat_gateway.sandbox.accounts import (
    DEV_SIGNATURE_KEY,
    DEV_X_TOKEN,
    AccountBook,
    SandboxAccount,
    parse_account_spec,
)
from paycombat_gateway.sandbox.errors import SandboxError
from paycombat_gateway.sandbox.server import run_sandbox
from tests.sandbox.conftest import ACCOUNT, Api, parse


def _accepts(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_run_sandbox_serves_for_the_block_then_stops() -> None:
    with run_sandbox([ACCOUNT]) as sandbox:
        parts = urlsplit(sandbox.base_url)
        assert parts.scheme == "http" and parts.hostname == "127.0.0.1" and parts.port
        assert _accepts(parts.port)
        assert Api(sandbox.base_url).create_checkout()["id"]
        assert repr(sandbox) == f"RunningSandbox({sandbox.base_url})"
        webhook_thread = sandbox.dispatcher._thread
        assert webhook_thread is not None and webhook_thread.is_alive()
    assert not _accepts(parts.port)
    assert not webhook_thread.is_alive()


def test_accounts_hide_their_secrets() -> None:
    account = SandboxAccount(x_token="snd_secret_token_123", signature_key="snd_secret_key_456", name="shop")
    assert repr(account) == "SandboxAccount(name='shop')"
    assert "snd_secret" not in str(account.public())
    assert account.identifier != account.x_token and account.identifier.startswith("snd_")
    with pytest.raises(ValueError):
        SandboxAccount(x_token="", signature_key="k")
    with pytest.raises(ValueError):
        AccountBook([account, SandboxAccount(x_token=account.x_token, signature_key="other", name="copy")])
    with pytest.raises(ValueError):
        AccountBook([])


def test_account_specs() -> None:
    account = parse_account_spec("eu:snd_x_eu:snd_key:with:colons")
    assert (account.name, account.x_token, account.signature_key) == ("eu", "snd_x_eu", "snd_key:with:colons")
    for bad in ("eu", "eu:token", ":token:key", "eu::key"):
        with pytest.raises(ValueError):
            parse_account_spec(bad)


def test_accounts_can_be_added_while_running() -> None:
    newcomer = SandboxAccount(x_token="snd_new_xtoken", signature_key="snd_new_key", name="newcomer")
    with run_sandbox([ACCOUNT]) as sandbox:
        assert Api(sandbox.base_url, newcomer).call("get_all_checkout").status_code == 401
        sandbox.add_account(newcomer)
        assert Api(sandbox.base_url, newcomer).data("get_all_checkout")["total"] == 0
        with pytest.raises(SandboxError) as duplicate:
            sandbox.add_account(newcomer)
        assert duplicate.value.status == 422
        listed = parse(requests.get(f"{sandbox.base_url}/_sandbox/accounts", timeout=5))["data"]
        assert [item["name"] for item in listed] == [ACCOUNT.name, "newcomer"]
        assert "snd_new_key" not in str(listed) and "snd_new_xtoken" not in str(listed)


def test_every_inference_the_sandbox_names_is_recorded_in_the_contract() -> None:
    """Inferred facts live in contract.INFERENCES only; the sandbox's code refers to them by key."""
    named = set()
    for source in Path(sandbox_package.__file__).parent.glob("*.py"):
        text = " ".join(source.read_text().split())
        for mention in re.findall(r"inferences? ((?:``\w+``(?: and )?)+)", text):
            named |= set(re.findall(r"``(\w+)``", mention))
    assert len(named) >= 10
    assert named <= set(INFERENCES), named - set(INFERENCES)


def test_the_home_page_says_what_it_is_and_shows_only_the_development_keys() -> None:
    development = SandboxAccount(x_token=DEV_X_TOKEN, signature_key=DEV_SIGNATURE_KEY, name="development")
    with run_sandbox([development, ACCOUNT]) as sandbox:
        page = requests.get(f"{sandbox.base_url}/", timeout=5)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "PayCombat sandbox" in page.text and "PAYCOMBAT_API_URL" in page.text
    assert sandbox.base_url in page.text
    assert DEV_X_TOKEN in page.text and DEV_SIGNATURE_KEY in page.text
    assert ACCOUNT.name in page.text and ACCOUNT.merchant_id in page.text
    assert ACCOUNT.x_token not in page.text and ACCOUNT.signature_key not in page.text
