"""Settings: PEM text or a path, and a bad value names its variable."""

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hookline.config import ConfigError, broker_redis_url, load_settings
from hookline.integrations.ghl.keys import GHL_RSA_PUBLIC_KEY_PEM
from tests.support import keys


def test_rsa_key_from_a_path_is_read_as_pem(monkeypatch, tmp_path):
    path = tmp_path / "ghl.pem"
    path.write_text(keys.rsa_public_pem())
    monkeypatch.setenv("HOOKLINE_GHL_WEBHOOK_PUBLIC_KEY", str(path))

    settings = load_settings()

    assert settings.ghl_webhook_public_key == keys.rsa_public_pem().strip()


def test_the_ed25519_key_is_kept_as_pem_whatever_form_it_came_in(monkeypatch):
    raw = keys.ed25519_private().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    monkeypatch.setenv("HOOKLINE_GHL_WEBHOOK_ED25519_PUBLIC_KEY", raw.hex())

    settings = load_settings()

    assert settings.ghl_webhook_ed25519_public_key == keys.ed25519_public_pem()
    assert settings.ghl_accept_rsa_signatures is False


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
        ("HOOKLINE_GHL_WEBHOOK_ED25519_PUBLIC_KEY", "abcd" * 8, "16 bytes are neither a raw Ed25519 key (32)"),
        ("HOOKLINE_GHL_WEBHOOK_ED25519_PUBLIC_KEY", "~/no-such-ghl.pub", "neither PEM text nor a readable file"),
        ("HOOKLINE_GHL_ACCEPT_RSA_SIGNATURES", "perhaps", "valid boolean"),
        ("HOOKLINE_DATABASE_URL", "mysql://root@localhost/x", "must be a postgresql:// URL"),
        ("HOOKLINE_BROKER_URL", "kafka://localhost", "must be a redis://"),
        ("HOOKLINE_BROKER_URL", "sentinel://", "not a sentinel://host:port URL"),
        ("HOOKLINE_REDIS_URL", "sentinel://s1:26379;redis://s2:6379", "not a sentinel://host:port URL"),
        ("HOOKLINE_REDIS_URL", "sentinel://s1:26379/zero", "the db must be a number"),
        ("HOOKLINE_REDIS_SENTINEL_MASTER", "", "at least 1 character"),
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


def test_sentinel_urls_are_accepted_for_the_broker_and_redis(monkeypatch):
    url = "sentinel://:pw@s1:26379/2;sentinel://:pw@s2:26380/2;sentinel://s3"
    monkeypatch.setenv("HOOKLINE_BROKER_URL", url)
    monkeypatch.setenv("HOOKLINE_REDIS_URL", url)

    settings = load_settings()

    assert (settings.broker_url, settings.redis_url, settings.redis_sentinel_master) == (url, url, "mymaster")
    # With no HOOKLINE_REDIS_URL, Hookline's own Redis clients go through the broker's Sentinels.
    assert broker_redis_url(settings.broker) == url


def test_a_bad_sentinel_url_is_refused_without_showing_its_password(monkeypatch):
    monkeypatch.setenv("HOOKLINE_BROKER_URL", "sentinel://:hunter2@s1:port")

    with pytest.raises(ConfigError) as caught:
        load_settings()

    assert "HOOKLINE_BROKER_URL: " in str(caught.value) and "bad port" in str(caught.value)
    assert "hunter2" not in str(caught.value)
