"""Email settings for a test: environment variables, then a fresh Settings object (as a new process reads);
a tenant connected to the fake Reonic."""

import pytest

from hookline.config import get_settings
from hookline.db import global_session, tenant_session
from hookline.integrations.auth import TokenSet
from hookline.services import tokens
from hookline.services.tenants import add_connection
from tests.support.fake_reonic import API, API_KEY, FakeReonic
from tests.support.sync import clear_limits


@pytest.fixture()
def reonic(tenant, monkeypatch, redis_client, respx_mock):
    """The tenant connected to Reonic with an API key, and the fake answering at HOOKLINE_REONIC_API_URL."""
    clear_limits(redis_client)
    monkeypatch.setenv("HOOKLINE_REONIC_API_URL", API)
    get_settings.cache_clear()
    with global_session() as session:
        connection = add_connection(session, tenant.id, "reonic", "reonic-sunny")
    with tenant_session(tenant.id) as session:
        tokens.store(session, tenant.id, connection.id, "api_key", TokenSet(API_KEY))
    yield FakeReonic().mount(respx_mock)
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture()
def email_settings(monkeypatch, redis_client, tmp_path):
    """Call with HOOKLINE_* overrides; the file transport writes under tmp_path/mail by default."""
    for key in redis_client.scan_iter("hookline:ratelimit:email:*"):
        redis_client.delete(key)

    def configure(**env: str) -> None:
        monkeypatch.setenv("HOOKLINE_VAR_DIR", str(tmp_path))
        for name, value in env.items():
            monkeypatch.setenv(f"HOOKLINE_{name.upper()}", str(value))
        get_settings.cache_clear()

    configure()
    yield configure
    monkeypatch.undo()
    get_settings.cache_clear()
