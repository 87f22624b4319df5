"""The dev GoHighLevel key: made and trusted on the embedded default only, never over a key of your own."""

from __future__ import annotations

import stat

from hookline import dev_webhook_key
from hookline.config import Settings
from hookline.services.ghl_webhooks import KEY_SETTING
from tests.support import keys


def test_on_the_embedded_default_dev_makes_the_key_once_and_trusts_it(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_SETTING)

    path = dev_webhook_key.trust(Settings(var_dir=tmp_path, database_url=None, ghl_webhook_ed25519_public_key=None))
    first = path.read_bytes()
    again = dev_webhook_key.trust(Settings(var_dir=tmp_path, database_url=None, ghl_webhook_ed25519_public_key=None))

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert again.read_bytes() == first  # made once: a restart keeps the key
    trusted = Settings(database_url=None).ghl_webhook_ed25519_public_key
    assert trusted == dev_webhook_key.public_pem(dev_webhook_key.load(path))


def test_a_key_of_your_own_stays_the_trusted_one(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_SETTING, keys.ed25519_public_pem())
    settings = Settings(var_dir=tmp_path, database_url=None)

    dev_webhook_key.trust(settings)

    assert Settings(database_url=None).ghl_webhook_ed25519_public_key == settings.ghl_webhook_ed25519_public_key


def test_with_a_database_url_nothing_is_made_or_trusted(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_SETTING)

    made = dev_webhook_key.trust(Settings(var_dir=tmp_path, database_url="postgresql://app@db.internal/hookline",
                                          ghl_webhook_ed25519_public_key=None))

    assert made is None
    assert list(tmp_path.iterdir()) == []
    assert Settings().ghl_webhook_ed25519_public_key is None
