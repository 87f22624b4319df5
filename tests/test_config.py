"""Settings: PEM text or a path, and a bad value names its variable."""

import pytest

from hookline.config import ConfigError, load_settings
from hookline.integrations.ghl.keys import GHL_RSA_PUBLIC_KEY_PEM
from tests.support import keys


def test_rsa_key_from_a_path_is_read_as_pem(monkeypatch, tmp_path):
    path = tmp_path / "ghl.pem"
    path.write_text(keys.rsa_public_pem())
    monkeypatch.setenv("HOOKLINE_GHL_WEBHOOK_PUBLIC_KEY", str(path))

    settings = load_settings()

    assert settings.ghl_webhook_public_key == keys.rsa_public_pem().strip()


def test_ghl_published_rsa_key_is_the_default(monkeypatch):
    monkeypatch.delenv("HOOKLINE_GHL_WEBHOOK_PUBLIC_KEY")

    assert load_settings().ghl_webhook_public_key == GHL_RSA_PUBLIC_KEY_PEM.strip()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("HOOKLINE_GHL_WEBHOOK_PUBLIC_KEY", "/no/such/key.pem", "neither PEM text nor a readable file"),
        ("HOOKLINE_GHL_WEBHOOK_PUBLIC_KEY", "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----", "not a PEM public key"),
        ("HOOKLINE_GHL_WEBHOOK_PUBLIC_KEY", keys.ed25519_public_pem(), "expected a RSA public key"),
        ("HOOKLINE_GHL_WEBHOOK_ED25519_PUBLIC_KEY", keys.rsa_public_pem(), "expected a Ed25519 public key"),
        ("HOOKLINE_DATABASE_URL", "mysql://root@localhost/x", "must be a postgresql:// URL"),
        ("HOOKLINE_BROKER_URL", "kafka://localhost", "must be a redis://"),
        ("HOOKLINE_PORT", "eighty", "valid integer"),
        ("HOOKLINE_EMAIL_TRANSPORT", "sendmail", "'file', 'smtp' or 'postmark'"),
        ("HOOKLINE_EMAIL_FROM_ADDRESS", "Hookline <mail@hookline.test>", "not an email address"),
    ],
)
def test_bad_value_fails_with_the_variable_named(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)

    with pytest.raises(ConfigError) as caught:
        load_settings()

    assert f"{variable}: " in str(caught.value)
    assert message in str(caught.value)


def test_postmark_without_its_token_is_refused_at_start(monkeypatch):
    monkeypatch.setenv("HOOKLINE_EMAIL_TRANSPORT", "postmark")

    with pytest.raises(ConfigError, match="HOOKLINE_EMAIL_TRANSPORT=postmark needs HOOKLINE_POSTMARK_SERVER_TOKEN"):
        load_settings()


@pytest.mark.parametrize(("value", "kwargs"), [("true", {}), ("false", {"prepare_threshold": None})])
def test_prepared_statements_off_reach_psycopg_as_no_threshold(monkeypatch, value, kwargs):
    monkeypatch.setenv("HOOKLINE_DATABASE_PREPARED_STATEMENTS", value)

    assert load_settings().psycopg_kwargs() == kwargs
