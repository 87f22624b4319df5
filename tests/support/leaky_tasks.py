"""A task that fails with secrets in its arguments and in its error's text (`celery -A tests.support.leaky_tasks`).

Error reports must carry none of them (telemetry/scrub.py). The failing tasks of
tests/support/failing_tasks.py are registered too.
"""

from __future__ import annotations

from hookline.config import get_settings
from hookline.integrations.errors import RejectedError
from hookline.workers.tenancy import TenantTask
from tests.support.failing_tasks import app

__all__ = ["app"]


@app.task(base=TenantTask, name="tests.leaks_secrets_in_its_error")
def leaks_secrets_in_its_error(*, tenant_id: int, key: str, api_token: str, signing_secret: str) -> None:
    settings = get_settings()
    client_secret = settings.ghl_client_secret.get_secret_value() if settings.ghl_client_secret else ""
    sealing_key = settings.secret_keys.get_secret_value() if settings.secret_keys else ""
    raise RejectedError(f"provider refused {key}: Authorization: Bearer {api_token}; signed with {signing_secret}; "
                        f"client secret {client_secret}; sealed with {sealing_key}")
