"""Email settings for a test: environment variables, then a fresh Settings object (as a new process reads)."""

import pytest

from hookline.config import get_settings


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
