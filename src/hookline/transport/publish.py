"""Publishing tasks by name, with the tenant in the message headers."""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import event
from sqlalchemy.orm import Session

from hookline.transport.headers import tenant_headers
from hookline.transport.lanes import lane
from hookline.workers.app import app

log = structlog.get_logger(__name__)

# Fail fast: the caller (the ingress) has already committed the work to PostgreSQL and must
# answer its sender within seconds; a row left unpublished is picked up again later.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


def publish(task_name: str, *, tenant_id: int, bulk: bool = False, **kwargs: Any) -> None:
    """Send `task_name` with keyword arguments; routing by module name picks its queue (its bulk
    lane when `bulk`: transport/lanes.py)."""
    app.send_task(
        task_name,
        kwargs={"tenant_id": tenant_id, **kwargs},
        headers=tenant_headers(tenant_id),
        retry=True,
        retry_policy=PUBLISH_RETRY_POLICY,
        **lane(task_name, bulk),
    )


def publish_system(task_name: str, **kwargs: Any) -> None:
    """Send a system task (no tenant: a Marketplace install's app event), failing as fast as `publish`."""
    app.send_task(task_name, kwargs=kwargs, retry=True, retry_policy=PUBLISH_RETRY_POLICY)


_AFTER_COMMIT = "hookline.publish_after_commit"


def publish_after_commit(session: Session, task_name: str, *, tenant_id: int, **kwargs: Any) -> None:
    """Publish once `session`'s transaction commits (nothing if it rolls back), so the worker sees the rows.

    A publish that fails after the commit is logged, not raised: the commit stands, and the
    caller's own repair covers it (beat's reconciliation for pushes, the outbox sweeper for email).
    """
    if _AFTER_COMMIT not in session.info:
        session.info[_AFTER_COMMIT] = []
        event.listen(session, "after_commit", _publish_pending)
        event.listen(session, "after_rollback", lambda s: s.info[_AFTER_COMMIT].clear())
    session.info[_AFTER_COMMIT].append((task_name, tenant_id, kwargs))


def _publish_pending(session: Session) -> None:
    pending, session.info[_AFTER_COMMIT] = session.info[_AFTER_COMMIT], []
    for task_name, tenant_id, kwargs in pending:
        try:
            publish(task_name, tenant_id=tenant_id, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the commit stands
            log.warning("publish_after_commit.failed", task=task_name, tenant_id=tenant_id, error=repr(exc))
