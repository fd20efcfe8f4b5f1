"""``paycombat-gateway sandbox``: accounts from flags or environment, a development account otherwise,
and a real process that serves the API."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from paycombat_gateway.cli import build_parser
from paycombat_gateway.commands.sandbox import DEV_SIGNATURE_KEY, DEV_X_TOKEN, accounts_from
from paycombat_gateway.sandbox.accounts import SandboxAccount
from tests.sandbox.conftest import Api


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["sandbox", *argv])


def test_flags_and_environment_give_accounts() -> None:
    accounts, development = accounts_from(
        _args("--x-token", "snd_a", "--signature-key", "snd_ka", "--account", "b:snd_b:snd_kb"),
        {"SANDBOX_ACCOUNTS": "c:snd_c:snd_kc, d:snd_d:snd_kd"},
    )
    assert not development
    assert [(a.name, a.x_token, a.signature_key) for a in accounts] == [
        ("default", "snd_a", "snd_ka"),
        ("b", "snd_b", "snd_kb"),
        ("c", "snd_c", "snd_kc"),
        ("d", "snd_d", "snd_kd"),
    ]
    from_env, _ = accounts_from(_args(), {"SANDBOX_X_TOKEN": "snd_e", "SANDBOX_SIGNATURE_KEY": "snd_ke"})
    assert [(a.x_token, a.signature_key) for a in from_env] == [("snd_e", "snd_ke")]
    flag_wins, _ = accounts_from(
        _args("--x-token", "snd_f", "--signature-key", "snd_kf"),
        {"SANDBOX_X_TOKEN": "snd_e", "SANDBOX_SIGNATURE_KEY": "snd_ke"},
    )
    assert flag_wins[0].x_token == "snd_f"


def test_incomplete_accounts_are_refused() -> None:
    with pytest.raises(ValueError, match="both"):
        accounts_from(_args("--x-token", "snd_a"), {})
    with pytest.raises(ValueError):
        accounts_from(_args("--account", "only-a-name"), {})


def test_no_account_means_the_development_account() -> None:
    accounts, development = accounts_from(_args(), {})
    assert development
    assert [(a.x_token, a.signature_key) for a in accounts] == [(DEV_X_TOKEN, DEV_SIGNATURE_KEY)]
    assert DEV_X_TOKEN.startswith("snd_") and DEV_SIGNATURE_KEY.startswith("snd_")


def test_help_says_local_use_only(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["sandbox", "--help"])
    text = capsys.readouterr().out
    assert "LOCAL USE ONLY" in text and "PAYCOMBAT_API_URL" in text
    for flag in ("--host", "--port", "--x-token", "--signature-key", "--account", "--database"):
        assert flag in text


@contextmanager
def _sandbox_process(*argv: str) -> Iterator[tuple[str, list[str]]]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SANDBOX_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "paycombat_gateway", "sandbox", "--port", "0", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        for line in process.stdout:
            lines.append(line)
            found = re.search(r"PayCombat sandbox on (http://127\.0\.0\.1:\d+)", line)
            if found:
                yield found.group(1), lines
                return
        raise AssertionError("the sandbox did not start: " + "".join(lines))
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_command_serves_with_the_development_account() -> None:
    with _sandbox_process() as (base_url, lines):
        printed = "".join(lines)
        assert "DEVELOPMENT" in printed and DEV_X_TOKEN in printed and DEV_SIGNATURE_KEY in printed
        development = SandboxAccount(x_token=DEV_X_TOKEN, signature_key=DEV_SIGNATURE_KEY)
        assert (
            Api(base_url, development).create_checkout()["checkout_url"].startswith(base_url + "/checkout/")
        )


def test_the_command_serves_given_accounts_without_printing_their_secrets() -> None:
    with _sandbox_process("--x-token", "snd_cli_token_1", "--signature-key", "snd_cli_key_1") as (
        base_url,
        lines,
    ):
        assert "snd_cli_token_1" not in "".join(lines) and "snd_cli_key_1" not in "".join(lines)
        account = SandboxAccount(x_token="snd_cli_token_1", signature_key="snd_cli_key_1")
        assert Api(base_url, account).data("get_all_checkout")["total"] == 0
        assert (
            Api(base_url, SandboxAccount(x_token=DEV_X_TOKEN, signature_key=DEV_SIGNATURE_KEY))
            .call("get_all_checkout")
            .status_code
            == 401
        )
