"""Tasks that fail on purpose, registered on Hookline's real Celery app (`celery -A tests.support.failing_tasks`).

Their names have no `hookline.tasks.<queue>.` prefix, so they route to the default queue
(`webhooks`). Each is a TenantTask and inherits the retry policy, dead letters and quarantine, but
one: a system task (no tenant) with the retry policy alone, as the Marketplace install steps have it.
"""

from __future__ import annotations

import os
import time

import redis
from celery.exceptions import SoftTimeLimitExceeded

from hookline.integrations.errors import RejectedError, TransientError
from hookline.workers.app import app
from hookline.workers.deliveries import redis_client
from hookline.workers.retry import Retrying
from hookline.workers.tenancy import TenantTask

__all__ = ["app"]


def runs(tenant_id: int, key: str) -> int:
    """How often the task run `key` started so far (a Redis counter the tests read back)."""
    client: redis.Redis = redis_client()
    return int(client.get(f"hookline:t{tenant_id}:test-runs:{key}") or 0)


def _count(tenant_id: int, key: str) -> int:
    return redis_client().incr(f"hookline:t{tenant_id}:test-runs:{key}")


@app.task(base=TenantTask, name="tests.refused_by_provider")
def refused_by_provider(*, tenant_id: int, key: str, api_token: str = "") -> None:
    _count(tenant_id, key)
    raise RejectedError("the provider refused the request: 422 unknown pipeline")


@app.task(base=TenantTask, name="tests.always_unavailable", max_retries=2)
def always_unavailable(*, tenant_id: int, key: str) -> None:
    _count(tenant_id, key)
    raise TransientError("the provider answered 503")


@app.task(base=TenantTask, name="tests.unavailable_once")
def unavailable_once(*, tenant_id: int, key: str, retry_after: float = 0.5) -> str:
    if _count(tenant_id, key) == 1:
        raise TransientError("the provider answered 503", retry_after=retry_after)
    return "done"


@app.task(base=Retrying, name="tests.system_unavailable_once")
def system_unavailable_once(*, key: str) -> str:
    if _count(0, key) == 1:
        raise TransientError("the provider answered 503", retry_after=0.5)
    return "done"


@app.task(base=TenantTask, name="tests.takes_an_event")
def takes_an_event(*, tenant_id: int, key: str, event_id: int) -> None:
    _count(tenant_id, key)


@app.task(base=TenantTask, name="tests.kills_its_worker")
def kills_its_worker(*, tenant_id: int, key: str) -> None:
    _count(tenant_id, key)
    os._exit(1)  # no exception, no failure handler: the child process is simply gone


@app.task(base=TenantTask, bind=True, name="tests.retries_then_succeeds", max_retries=10)
def retries_then_succeeds(self, *, tenant_id: int, key: str) -> str:
    """Asks for a retry five times (more than the poison threshold), then succeeds."""
    _count(tenant_id, key)
    if self.request.retries < 5:
        raise self.retry(countdown=0)
    return "done"


@app.task(base=TenantTask, name="tests.outlives_its_hard_limit", soft_time_limit=0.5, time_limit=1)
def outlives_its_hard_limit(*, tenant_id: int, key: str) -> None:
    """Stuck past its soft limit (as in a C call that never returns); the pool kills the child at the hard one."""
    _count(tenant_id, key)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            time.sleep(deadline - time.monotonic())
        except SoftTimeLimitExceeded:
            continue
