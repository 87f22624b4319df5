"""Fernet keys from settings: the first encrypts, all decrypt; the dev key file; bad keys named."""

from __future__ import annotations

import stat

import pytest
from cryptography.fernet import Fernet, MultiFernet

from hookline.config import ConfigError, load_settings
from hookline.secrets_box import dev_key, parse_keys


def test_the_first_key_encrypts_and_every_key_decrypts():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed_with_old = MultiFernet(parse_keys(old)).encrypt(b"rt-123")

    rotated = MultiFernet(parse_keys(f"{new}, {old}"))

    assert rotated.decrypt(sealed_with_old) == b"rt-123"
    assert Fernet(new.encode()).decrypt(rotated.rotate(sealed_with_old)) == b"rt-123"


def test_the_dev_key_is_made_once_and_only_its_owner_can_read_it(tmp_path):
    first = dev_key(tmp_path)

    assert dev_key(tmp_path) == first
    assert stat.S_IMODE((tmp_path / "secret-key").stat().st_mode) == 0o600
    Fernet(first.encode())  # a usable key


def test_a_bad_key_fails_at_start_naming_the_variable_not_the_key(monkeypatch):
    good = Fernet.generate_key().decode()
    monkeypatch.setenv("HOOKLINE_SECRET_KEYS", f"{good},not-a-key-xyz")

    with pytest.raises(ConfigError) as caught:
        load_settings()

    assert "HOOKLINE_SECRET_KEYS" in str(caught.value) and "key 2 is not a Fernet key" in str(caught.value)
    assert "not-a-key-xyz" not in str(caught.value)
