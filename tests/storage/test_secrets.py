"""Secrets at rest: encrypted, rotatable, never shown."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from paycombat_gateway.storage.secrets import SecretBox, SecretDecryptionError, _make_key_file, secret_hint


def test_round_trip_and_ciphertext_hides_the_value() -> None:
    box = SecretBox(["a-test-passphrase-that-is-long-enough"])
    token = box.encrypt("snd_x_token_value_1234")
    assert "snd_x_token" not in token
    assert box.decrypt(token) == "snd_x_token_value_1234"
    assert "passphrase" not in repr(box)


def test_rotation_with_two_keys() -> None:
    old = SecretBox(["old-passphrase-long-enough"])
    stored = old.encrypt("secret-value")
    both = SecretBox(["new-passphrase-long-enough", "old-passphrase-long-enough"])
    rotated = both.rotate(stored)
    assert SecretBox(["new-passphrase-long-enough"]).decrypt(rotated) == "secret-value"
    with pytest.raises(SecretDecryptionError):
        SecretBox(["new-passphrase-long-enough"]).decrypt(stored)


def test_fernet_keys_are_used_as_is() -> None:
    key = Fernet.generate_key().decode()
    stored = SecretBox([key]).encrypt("v")
    assert Fernet(key.encode()).decrypt(stored.encode()) == b"v"


def test_short_passphrases_are_refused() -> None:
    with pytest.raises(ValueError):
        SecretBox(["short"])


def test_development_key_is_generated_once_with_private_permissions(tmp_path: Path) -> None:
    first = SecretBox.from_setting(None, tmp_path)
    stored = first.encrypt("value")
    key_file = tmp_path / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert SecretBox.from_setting(None, tmp_path).decrypt(stored) == "value"


def test_hint_is_last_four_only_for_long_secrets() -> None:
    assert secret_hint("snd_abcdefgh1234") == "1234"
    assert secret_hint("short") == ""


def test_the_development_key_is_made_by_the_first_store_not_by_reading(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key_file = tmp_path / "data" / "secret.key"
    box = SecretBox.from_setting(None, tmp_path / "data")
    with pytest.raises(SecretDecryptionError):
        box.decrypt("gAAAAAnything")
    assert not key_file.exists(), "reading (config list, rotate-secrets on nothing) writes no key"
    with caplog.at_level("INFO"):
        stored = box.encrypt("value")
        box.encrypt("another")
        SecretBox.from_setting(None, tmp_path / "data").encrypt("again")
    assert key_file.exists()
    warnings = [record for record in caplog.records if "development key" in record.getMessage()]
    assert len(warnings) == 1, "said once, when the key was made, not on every use"
    assert SecretBox.from_setting(None, tmp_path / "data").decrypt(stored) == "value"


def test_two_processes_making_the_key_at_once_agree_on_one(tmp_path: Path) -> None:
    """A ``serve --workers`` sibling that made the key first wins; the other reads it, never overwrites it."""
    key_file = tmp_path / "secret.key"
    mine = _make_key_file(key_file)
    theirs = _make_key_file(key_file)  # as if it had looked just before the file appeared
    assert theirs == mine == key_file.read_text().strip()
    assert [path.name for path in tmp_path.iterdir()] == ["secret.key"], "no draft left behind"
