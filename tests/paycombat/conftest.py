"""Cassettes for every PayCombat client call.

Replay (the default): record mode "none", so a request without a cassette fails, and the client talks to
``https://api.paycombat.com`` which vcrpy answers from ``cassettes/paycombat/``.
Record (``PAYCOMBAT_RECORD=1``, see ``scripts/record-cassettes``): against a real PayCombat when
``PAYCOMBAT_API_URL``, ``PAYCOMBAT_X_TOKEN`` and ``PAYCOMBAT_SIGNATURE_KEY`` are set, otherwise against
the local sandbox started here. Secrets are scrubbed from requests and responses before writing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import vcr

from paycombat_gateway.paycombat.client import PaycombatClient
from paycombat_gateway.paycombat.contract import DEFAULT_BASE_URL

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes" / "paycombat"
RECORDING = os.environ.get("PAYCOMBAT_RECORD") == "1"
SANDBOX_X_TOKEN = "snd_cassette_recording_xtoken_7f3a"
SANDBOX_SIGNATURE_KEY = "snd_cassette_recording_sigkey_91c2"
REPLAY_X_TOKEN = "snd_replay_xtoken_0000"
REPLAY_SIGNATURE_KEY = "snd_replay_sigkey_0000"
TOKEN_PLACEHOLDER = "redacted-checkout-token"
_HEX_TOKEN = re.compile(rb"\b[0-9a-f]{64}\b")
_QUERY_SECRET = re.compile(rb"((?:token|identifier)=)[^&\"\s\\]+")
_ACCOUNT_NUMBER = re.compile(rb'("account_number"\s*:\s*")[^"]*(")')


def recording_secrets() -> list[str]:
    """Every secret a recording could have seen; none may appear in a cassette."""
    values = [SANDBOX_X_TOKEN, SANDBOX_SIGNATURE_KEY]
    values += [
        os.environ[name] for name in ("PAYCOMBAT_X_TOKEN", "PAYCOMBAT_SIGNATURE_KEY") if os.environ.get(name)
    ]
    return values


def _scrub(data: bytes) -> bytes:
    for secret in recording_secrets():
        data = data.replace(secret.encode(), b"REDACTED")
    data = _HEX_TOKEN.sub(TOKEN_PLACEHOLDER.encode(), data)
    data = _QUERY_SECRET.sub(rb"\1REDACTED", data)
    return _ACCOUNT_NUMBER.sub(rb"\1REDACTED\2", data)


def _canonical(uri: str) -> str:
    parts = urlsplit(uri)
    base = urlsplit(DEFAULT_BASE_URL)
    path = _HEX_TOKEN.sub(TOKEN_PLACEHOLDER.encode(), parts.path.encode()).decode()
    return urlunsplit((base.scheme, base.netloc, path, parts.query, ""))


def before_record_request(request: Any) -> Any:
    request.uri = _canonical(request.uri)
    if request.body:
        body = request.body if isinstance(request.body, bytes) else str(request.body).encode()
        request.body = _scrub(body)
    return request


def before_record_response(response: dict[str, Any]) -> dict[str, Any]:
    body = response["body"].get("string")
    if isinstance(body, bytes):
        response["body"]["string"] = _scrub(body)
    response["headers"] = {
        key: value
        for key, value in response["headers"].items()
        if key.lower() not in {"set-cookie", "date", "server"}
    }
    return response


def _match_scrubbed_body(received: Any, recorded: Any) -> None:
    left = received.body if isinstance(received.body, bytes) else (received.body or "").encode()
    right = recorded.body if isinstance(recorded.body, bytes) else (recorded.body or "").encode()
    assert _scrub(left) == right


RECORDER = vcr.VCR(
    cassette_library_dir=str(CASSETTES),
    record_mode="all" if RECORDING else "none",
    filter_headers=[("x-token", "REDACTED"), ("signature", "REDACTED"), ("authorization", "REDACTED")],
    before_record_request=before_record_request,
    before_record_response=before_record_response,
    decode_compressed_response=True,
    match_on=["method", "scheme", "host", "port", "path", "query", "scrubbed_body"],
    record_on_exception=False,
)
RECORDER.register_matcher("scrubbed_body", _match_scrubbed_body)


@dataclass
class CassetteSession:
    client: PaycombatClient
    settle: Any  # callable(checkout_id, outcome) in sandbox recordings, None in replay


@pytest.fixture
def paycombat(request: pytest.FixtureRequest) -> Iterator[CassetteSession]:
    """A client whose traffic goes through the test's cassette (``cassettes/paycombat/<test>.yaml``)."""
    name = f"{request.node.name}.yaml"
    settle = None
    with ExitStack() as stack:
        if RECORDING and os.environ.get("PAYCOMBAT_API_URL"):
            base_url = os.environ["PAYCOMBAT_API_URL"]
            client = PaycombatClient(
                os.environ["PAYCOMBAT_X_TOKEN"], os.environ["PAYCOMBAT_SIGNATURE_KEY"], base_url
            )
        elif RECORDING:
            from paycombat_gateway.sandbox.server import SandboxAccount, run_sandbox

            sandbox = stack.enter_context(
                run_sandbox([SandboxAccount(x_token=SANDBOX_X_TOKEN, signature_key=SANDBOX_SIGNATURE_KEY)])
            )
            client = PaycombatClient(SANDBOX_X_TOKEN, SANDBOX_SIGNATURE_KEY, sandbox.base_url, retries=0)
            settle = sandbox.checkouts.settle  # in process: not PayCombat traffic, so not recorded
        else:
            client = PaycombatClient(REPLAY_X_TOKEN, REPLAY_SIGNATURE_KEY, DEFAULT_BASE_URL, retries=0)
        stack.enter_context(RECORDER.use_cassette(name))
        yield CassetteSession(client=client, settle=settle)
