"""Publishing tasks by name, with the tenant in the message headers."""

from __future__ import annotations

from typing import Any

from hookline.workers.app import app
from hookline.workers.fairness import lane
from hookline.workers.tenancy import tenant_headers

# Fail fast: the caller (the ingress) has already committed the work to PostgreSQL and must
# answer its sender within seconds; a row left unpublished is picked up again later.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


def publish(task_name: str, *, tenant_id: int, bulk: bool = False, **kwargs: Any) -> None:
    """Send `task_name` with keyword arguments; routing by module name picks its queue (its bulk
    lane when `bulk`: workers/fairness.py)."""
    app.send_task(
        task_name,
        kwargs={"tenant_id": tenant_id, **kwargs},
        headers=tenant_headers(tenant_id),
        retry=True,
        retry_policy=PUBLISH_RETRY_POLICY,
        **lane(task_name, bulk),
    )
