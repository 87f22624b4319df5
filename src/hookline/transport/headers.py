"""What every task message carries, however it is published: its tenant in the headers, a safe delay."""

from __future__ import annotations

from typing import Any

from hookline.db import require_tenant
from hookline.workers.limits import refuse_long_delay


def tenant_headers(tenant_id: Any, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    """Message headers carrying the tenant, so operators and brokers see it without the body."""
    return {**(headers or {}), "tenant_id": require_tenant(tenant_id)}


def task_options(kwargs: dict[str, Any] | None, options: dict[str, Any]) -> dict[str, Any]:
    """The publish options of TenantTask.apply_async (a retry comes through it too): the tenant of
    `kwargs` in the headers (MissingTenant without one), and no delay longer than the broker holds."""
    options = {**options, "headers": tenant_headers((kwargs or {}).get("tenant_id"), options.get("headers"))}
    refuse_long_delay(options)
    return options
