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
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from paycombat_gateway.observability import register_secret
from paycombat_gateway.settings import MIN_SECRET_KEY_LENGTH

__all__ = ["SecretBox", "SecretDecryptionError", "secret_hint", "warn_about_the_development_key"]

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
    """Encrypts and decrypts the secrets this app stores; decrypted values are registered for log redaction.

    Without ``APP_SECRET_KEY`` (development) the key lives in ``DATA_DIR/secret.key``, made the first
    time a secret is stored, not before: a command that only reads (``config list``) writes nothing.
    """

    def __init__(self, keys: list[str] | None = None, *, key_file: Path | None = None) -> None:
        if not keys and key_file is None:
            raise ValueError("at least one key is required")
        self._fernet: MultiFernet | None = MultiFernet([_fernet_for(key) for key in keys]) if keys else None
        self._key_file = key_file
        self.key_count = len(keys) if keys else 1

    def __repr__(self) -> str:
        return f"SecretBox(keys={self.key_count})"

    @classmethod
    def from_setting(cls, app_secret_key: str | None, data_dir: Path) -> SecretBox:
        """Keys from ``APP_SECRET_KEY``, or (development only) the key in the data folder."""
        if app_secret_key:
            return cls([part.strip() for part in app_secret_key.split(",") if part.strip()])
        return cls(key_file=data_dir / "secret.key")

    def _keys(self, *, create: bool) -> MultiFernet:
        if self._fernet is not None:
            return self._fernet
        assert self._key_file is not None, "a box has keys or a key file"
        if self._key_file.exists():
            key = self._key_file.read_text(encoding="ascii").strip()
        elif not create:
            raise SecretDecryptionError(f"no secret was stored yet: {self._key_file} does not exist")
        else:
            key = _make_key_file(self._key_file)
        self._fernet = MultiFernet([Fernet(key.encode("ascii"))])
        return self._fernet

    def encrypt(self, plaintext: str) -> str:
        return self._keys(create=True).encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        fernet = self._keys(create=False)
        try:
            value = fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise SecretDecryptionError("a stored secret does not decrypt with APP_SECRET_KEY") from exc
        register_secret(value)
        return value

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt under the first key (for ``rotate-secrets``)."""
        try:
            return self._keys(create=False).rotate(ciphertext.encode("ascii")).decode("ascii")
        except InvalidToken as exc:
            raise SecretDecryptionError("a stored secret does not decrypt with APP_SECRET_KEY") from exc


def _make_key_file(key_file: Path) -> str:
    """A new development key in ``key_file`` (mode 0600), or the one another process (a ``serve
    --workers`` sibling) put there first: the file appears whole or not at all (written aside, then
    linked into place)."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode("ascii")
    descriptor, draft = tempfile.mkstemp(dir=key_file.parent, prefix=".secret.key.")
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:  # mkstemp's mode is 0600
            handle.write(key + "\n")
        os.link(draft, key_file)
    except FileExistsError:
        return key_file.read_text(encoding="ascii").strip()
    finally:
        os.unlink(draft)
    logger.info("made the development key %s for stored secrets (APP_SECRET_KEY is not set)", key_file)
    return key


def warn_about_the_development_key(app_secret_key: str | None, data_dir: Path) -> None:
    """``serve``'s one warning at start-up when stored secrets use the development key (other commands
    stay quiet about it)."""
    if not app_secret_key:
        logger.warning(
            "APP_SECRET_KEY is not set: stored secrets are encrypted with the development key %s. "
            "Set APP_SECRET_KEY before going live, or they cannot move to another machine.",
            data_dir / "secret.key",
        )
