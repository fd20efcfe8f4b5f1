"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) with key rotation through MultiFernet.

``APP_SECRET_KEY`` holds one or more comma-separated keys; the first encrypts, all decrypt, so a new
key can be put in front, ``paycombat-gateway rotate-secrets`` run, and the old key removed later.
A key is either a Fernet key (urlsafe base64 of 32 bytes) or any passphrase of 16+ characters, from
which a Fernet key is derived with HKDF-SHA256.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from paycombat_gateway.observability import register_secret
from paycombat_gateway.settings import MIN_SECRET_KEY_LENGTH

__all__ = ["SecretBox", "SecretDecryptionError", "secret_hint"]

logger = logging.getLogger(__name__)
_HKDF_INFO = b"paycombat-gateway secrets at rest v1"
_MIN_PASSPHRASE = MIN_SECRET_KEY_LENGTH  # Settings refuses shorter keys before anything runs


class SecretDecryptionError(RuntimeError):
    """A stored secret does not decrypt with any configured key (wrong or missing APP_SECRET_KEY)."""


def secret_hint(secret: str) -> str:
    """The last four characters, which the Dashboard may show after saving."""
    return secret[-4:] if len(secret) >= 8 else ""


def _fernet_for(key: str) -> Fernet:
    try:
        if len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32:
            return Fernet(key.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        pass
    if len(key) < _MIN_PASSPHRASE:
        raise ValueError(
            f"each APP_SECRET_KEY entry must be a Fernet key or at least {_MIN_PASSPHRASE} characters"
        )
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        key.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(derived))


class SecretBox:
    """Encrypts and decrypts the secrets this app stores; decrypted values are registered for log redaction."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one key is required")
        self._fernet = MultiFernet([_fernet_for(key) for key in keys])
        self.key_count = len(keys)

    def __repr__(self) -> str:
        return f"SecretBox(keys={self.key_count})"

    @classmethod
    def from_setting(cls, app_secret_key: str | None, data_dir: Path) -> SecretBox:
        """Keys from ``APP_SECRET_KEY``, or (development only) a key generated into the data folder."""
        if app_secret_key:
            return cls([part.strip() for part in app_secret_key.split(",") if part.strip()])
        key_file = data_dir / "secret.key"
        if key_file.exists():
            key = key_file.read_text(encoding="ascii").strip()
        else:
            data_dir.mkdir(parents=True, exist_ok=True)
            key = Fernet.generate_key().decode("ascii")
            descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                handle.write(key + "\n")
        logger.warning(
            "APP_SECRET_KEY is not set: stored secrets are encrypted with the development key in %s. "
            "Set APP_SECRET_KEY before going live, or they cannot move to another machine.",
            key_file,
        )
        return cls([key])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        try:
            value = self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise SecretDecryptionError("a stored secret does not decrypt with APP_SECRET_KEY") from exc
        register_secret(value)
        return value

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt under the first key (for ``rotate-secrets``)."""
        try:
            return self._fernet.rotate(ciphertext.encode("ascii")).decode("ascii")
        except InvalidToken as exc:
            raise SecretDecryptionError("a stored secret does not decrypt with APP_SECRET_KEY") from exc
