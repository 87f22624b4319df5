"""The tenant-tagged base task: no tenant id, no task; the id rides in headers and every log line."""

from __future__ import annotations

from typing import Any

import structlog
from celery import Task
from celery.exceptions import Reject
from sqlalchemy.exc import OperationalError

from hookline.db import MissingTenant, require_tenant
from hookline.workers.limits import refuse_long_delay

log = structlog.get_logger(__name__)

__all__ = ["RETRY_ON_DATABASE_ERRORS", "MissingTenant", "TenantTask", "require_tenant", "tenant_headers"]


# Task options for "PostgreSQL restarting or unreachable: try again later", with backoff.
RETRY_ON_DATABASE_ERRORS: dict[str, Any] = {
    "autoretry_for": (OperationalError,), "retry_backoff": True, "retry_jitter": True, "max_retries": 8,
}

SECRET_WORDS = ("secret", "token", "password", "passwd", "authorization", "api_key", "apikey", "credential")


def redacted(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Task keyword arguments as operators may see them: values of secret-looking keys masked."""
    return {key: "***" if any(word in str(key).lower() for word in SECRET_WORDS) else value
            for key, value in kwargs.items()}


def tenant_headers(tenant_id: Any, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    """Message headers carrying the tenant, so operators and brokers see it without the body."""
    return {**(headers or {}), "tenant_id": require_tenant(tenant_id)}


class TenantTask(Task):
    """Base for every Hookline task. Tasks take keyword arguments, `tenant_id` first."""

    abstract = True

    def apply_async(self, args=None, kwargs=None, **options):  # type: ignore[override]
        if args:
            raise TypeError(f"{self.name} takes keyword arguments only")
        options["headers"] = tenant_headers((kwargs or {}).get("tenant_id"), options.get("headers"))
        refuse_long_delay(options)  # retry(countdown=…) comes through here too
        return super().apply_async(args, kwargs, **options)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # A message may come from anywhere (send_task, an old client, a hand-made publish):
        # check again on the worker side and reject it without running the body.
        headers = self.request.headers or {}
        header_tenant = headers.get("tenant_id", getattr(self.request, "tenant_id", None))
        try:
            tenant_id = require_tenant(kwargs.get("tenant_id"))
        except MissingTenant as exc:
            log.error("task.refused.no_tenant", task=self.name, task_id=self.request.id)
            if self.request.called_directly:
                raise
            raise Reject(str(exc), requeue=False) from exc
        if header_tenant is not None and header_tenant != tenant_id:
            log.error("task.refused.tenant_mismatch", task=self.name, header_tenant=header_tenant)
            raise Reject("tenant_id header and argument disagree", requeue=False)
        return super().__call__(*args, **kwargs)
