"""Tasks on the maintenance queue: the relay and the sweeper that (re)publish inbox rows, the canary."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from hookline.config import get_settings
from hookline.db import global_session, tenant_session
from hookline.models import Tenant, WebhookEvent
from hookline.services import inbox
from hookline.workers import liveness
from hookline.workers.app import app
from hookline.workers.handlers import handler_for
from hookline.workers.publish import publish

log = structlog.get_logger(__name__)


def tenant_ids() -> list[int]:
    with global_session() as session:
        return list(session.scalars(select(Tenant.id).order_by(Tenant.id)))


def publish_each(rows: Callable[[Session, int], list[WebhookEvent]], *, again: bool = False) -> int:
    """Publish the rows `rows(session, tenant_id)` picks, one tenant at a time, and stamp them."""
    published = 0
    for tenant_id in tenant_ids():
        with tenant_session(tenant_id) as session:
            for event in rows(session, tenant_id):
                handler = handler_for(event.provider, event.event_type)
                if handler is None:  # its handler was removed since it was stored: nothing to run
                    continue
                publish(handler.task, tenant_id=tenant_id, event_id=event.id)
                inbox.mark_published(session, tenant_id, event.id, again=again)
                published += 1
    return published


# System tasks, not TenantTasks: beat starts them with no tenant; they read only the tenant list
# globally and everything else through tenant_session, one tenant at a time.
@app.task(name="hookline.tasks.maintenance.relay_unpublished")
def relay_unpublished(older_than_seconds: float = 10.0, batch: int = 500) -> int:
    """Publish every pending inbox row older than `older_than_seconds` that was never published.

    The ingress commits, then publishes; when the broker was down, the row waits here. The age
    threshold keeps the relay out of the ingress's way on the normal path.
    """
    age = timedelta(seconds=older_than_seconds)
    relayed = publish_each(lambda session, tenant_id: inbox.unpublished(session, tenant_id, older_than=age, limit=batch))
    if relayed:
        log.info("relay.published", count=relayed)
    return relayed


@app.task(name="hookline.tasks.maintenance.sweep_stale")
def sweep_stale(older_than_seconds: float | None = None, batch: int = 500) -> int:
    """Publish again every inbox row still pending `older_than_seconds` after it was published.

    The broker is a transport, not a store: a Redis restarted without persistence loses its
    queues, and the rows in PostgreSQL are the truth. Default age: HOOKLINE_SWEEP_AFTER_SECONDS.
    """
    age = timedelta(seconds=older_than_seconds if older_than_seconds is not None
                    else get_settings().sweep_after_seconds)
    swept = publish_each(lambda session, tenant_id: inbox.stale(session, tenant_id, older_than=age, limit=batch),
                         again=True)
    if swept:
        log.warning("sweeper.republished", count=swept)
    return swept


@app.task(name="hookline.tasks.maintenance.canary")
def canary(token: str) -> None:
    """Sent by `hookline worker-check` to one worker's own queue: proof that it still consumes."""
    liveness.answer(token)
