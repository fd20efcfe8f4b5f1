"""Sandbox merchant accounts: an X-token and signature key pair each, isolated from one another."""

from __future__ import annotations

import hashlib
import hmac
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["DEV_SIGNATURE_KEY", "DEV_X_TOKEN", "AccountBook", "SandboxAccount", "parse_account_spec"]

# The development account a newcomer gets when no account is given. Public on purpose: the sandbox prints
# it and shows it on its home page; it only ever works against a local sandbox.
DEV_X_TOKEN = "snd_dev_xtoken_local_only"
DEV_SIGNATURE_KEY = "snd_dev_signature_local_only"

_MERCHANT_NAMESPACE = uuid.UUID("6f1d3a52-5c1e-4c57-9a55-2f0b9d3c8e10")


@dataclass(frozen=True)
class SandboxAccount:
    """One merchant. ``repr`` shows only the name: the X-token and key are secrets even in a sandbox."""

    x_token: str = field(repr=False)
    signature_key: str = field(repr=False)
    name: str = "sandbox"

    def __post_init__(self) -> None:
        for label, value in (("x_token", self.x_token), ("signature_key", self.signature_key)):
            if not value or value != value.strip():
                raise ValueError(f"a sandbox account needs a non-empty {label} without surrounding spaces")
        if not self.name.strip():
            raise ValueError("a sandbox account needs a name")

    @property
    def merchant_id(self) -> str:
        """A stable UUID per X-token: what PayCombat puts in ``merchant_id`` and how records are owned."""
        return str(uuid.uuid5(_MERCHANT_NAMESPACE, self.x_token))

    @property
    def identifier(self) -> str:
        """What ``checkout_url`` carries to name the merchant: derived from, but never equal to, the X-token."""
        return "snd_" + hashlib.sha256(b"identifier:" + self.x_token.encode()).hexdigest()[:32]

    @property
    def is_development(self) -> bool:
        """The published development account, whose credentials may be shown."""
        return self.x_token == DEV_X_TOKEN and self.signature_key == DEV_SIGNATURE_KEY

    def public(self) -> dict[str, str]:
        """What the sandbox may show about an account (no secrets)."""
        return {"name": self.name, "merchant_id": self.merchant_id, "identifier": self.identifier}


def parse_account_spec(spec: str) -> SandboxAccount:
    """``NAME:XTOKEN:KEY`` as given to ``--account`` or in ``SANDBOX_ACCOUNTS`` (comma-separated).

    The key is everything after the second colon, so it may itself contain colons.
    """
    name, sep, rest = spec.strip().partition(":")
    x_token, sep2, key = rest.partition(":")
    if not (sep and sep2 and name and x_token and key):
        raise ValueError("an account is NAME:XTOKEN:SIGNATURE_KEY")
    return SandboxAccount(x_token=x_token, signature_key=key, name=name)


class AccountBook:
    """The accounts a running sandbox knows; more can be added while it runs (``POST /_sandbox/accounts``)."""

    def __init__(self, accounts: Iterable[SandboxAccount]) -> None:
        self._lock = threading.Lock()
        self._accounts: list[SandboxAccount] = []
        for account in accounts:
            self.add(account)
        if not self._accounts:
            raise ValueError("the sandbox needs at least one account")

    def add(self, account: SandboxAccount) -> None:
        with self._lock:
            if any(known.x_token == account.x_token for known in self._accounts):
                raise ValueError(f"account {account.name!r} reuses an X-token already in use")
            self._accounts.append(account)

    def all(self) -> list[SandboxAccount]:
        with self._lock:
            return list(self._accounts)

    def by_x_token(self, x_token: str | None) -> SandboxAccount | None:
        """The account whose X-token is ``x_token``, compared in constant time."""
        if not x_token:
            return None
        offered = x_token.encode()
        found = None
        for account in self.all():
            if hmac.compare_digest(account.x_token.encode(), offered):
                found = account
        return found

    def by_merchant_id(self, merchant_id: str) -> SandboxAccount | None:
        return next((account for account in self.all() if account.merchant_id == merchant_id), None)
