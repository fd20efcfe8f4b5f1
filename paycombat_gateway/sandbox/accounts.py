"""Sandbox merchant accounts: an X-token and signature key pair each."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

__all__ = ["SandboxAccount", "parse_account_spec"]


@dataclass(frozen=True)
class SandboxAccount:
    x_token: str = field(repr=False)
    signature_key: str = field(repr=False)
    name: str = "sandbox"

    @property
    def merchant_id(self) -> str:
        digest = hashlib.sha256(self.x_token.encode()).hexdigest()
        return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"

    @property
    def identifier(self) -> str:
        """What the checkout URL carries to identify the merchant (never the X-token itself)."""
        return "snd_" + hashlib.sha256(b"identifier:" + self.x_token.encode()).hexdigest()[:24]


def parse_account_spec(spec: str) -> SandboxAccount:
    """``NAME:XTOKEN:KEY`` as given to ``--account`` or in ``SANDBOX_ACCOUNTS`` (comma-separated)."""
    name, sep, rest = spec.partition(":")
    x_token, sep2, key = rest.partition(":")
    if not (sep and sep2 and name and x_token and key):
        raise ValueError("an account is NAME:XTOKEN:SIGNATURE_KEY")
    return SandboxAccount(x_token=x_token, signature_key=key, name=name)
