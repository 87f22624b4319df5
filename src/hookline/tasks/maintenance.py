"""Tasks on the maintenance queue: the relay (inbox rows the ingress could not publish), the email sweeper."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

import structlog
from sqlalchemy import select

from hookline.config import get_settings
from hookline.db import global_session, tenant_session
from hookline.models import Tenant
from hookline.services import inbox, messaging
from hookline.tasks.email import SEND
from hookline.workers.app import app
from hookline.workers.fairness import Lanes
from hookline.workers.handlers import handler_for
from hookline.workers.publish import publish

log = structlog.get_logger(__name__)


def tenant_ids() -> list[int]:
    with global_session() as session:
        return list(session.scalars(select(Tenant.id).order_by(Tenant.id)))


@cache
def relay_lanes() -> Lanes:
    return Lanes.from_settings()  # one Redis client per worker process, not one per run


# A system task, not a TenantTask: beat starts it with no tenant; it reads only the tenant list
# globally and everything else through tenant_session, one tenant at a time.
@app.task(name="hookline.tasks.maintenance.relay_unpublished")
def relay_unpublished(older_than_seconds: float = 10.0, batch: int = 500) -> int:
    """Publish every pending inbox row older than `older_than_seconds` that was never published.

    The ingress commits, then publishes; when the broker was down, the row waits here. The age
    threshold keeps the relay out of the ingress's way on the normal path.
    """
    relayed, lanes = 0, relay_lanes()
    for tenant_id in tenant_ids():
        with tenant_session(tenant_id) as session:
            events = inbox.unpublished(session, tenant_id, older_than=timedelta(seconds=older_than_seconds),
                                       limit=batch)
            # A backlog the relay catches up counts toward the tenant's burst like the ingress's
            # publishes: a tenant's flood left behind by a broker outage goes to the bulk lane.
            bulk = tenant_id in lanes.hot({tenant_id: len(events)}) if events else False
            for event in events:
                handler = handler_for(event.provider, event.event_type)
                if handler is None:  # its handler was removed since it was stored: nothing to run
                    continue
                publish(handler.task, tenant_id=tenant_id, event_id=event.id, bulk=bulk)
                inbox.mark_published(session, tenant_id, event.id)
                relayed += 1
    if relayed:
        log.info("relay.published", count=relayed)
    return relayed


@app.task(name="hookline.tasks.maintenance.sweep_email_outbox")
def sweep_email_outbox(requeue_after_seconds: float | None = None, stuck_after_seconds: float | None = None,
                       batch: int = 500) -> dict[str, int]:
    """Publish again every queued email whose send is overdue; fail every email stuck in `sending`.

    Overdue: the crash between the caller's commit and its publish, or a broker that lost the
    message. A duplicate publish is harmless: the send task claims a message once. Stuck: a
    worker died mid-send, so the message may have gone out; it is failed with that reason, never
    sent again by itself (at most once), and `hookline email replay` can send it on purpose.
    """
    settings = get_settings()
    requeue = timedelta(seconds=settings.email_requeue_after_seconds if requeue_after_seconds is None
                        else requeue_after_seconds)
    stuck = timedelta(seconds=settings.email_stuck_sending_seconds if stuck_after_seconds is None
                      else stuck_after_seconds)
    counts = {"republished": 0, "failed_stuck": 0}
    for tenant_id in tenant_ids():
        with tenant_session(tenant_id) as session:
            failed = messaging.fail_stuck(session, tenant_id, older_than=stuck)
            for message_id in messaging.take_overdue(session, tenant_id, older_than=requeue, limit=batch):
                publish(SEND, tenant_id=tenant_id, message_id=message_id)  # inside: a failed publish rolls back
                counts["republished"] += 1
        if failed:
            log.warning("email.stuck_sending_failed", tenant_id=tenant_id, message_ids=failed[:20], count=len(failed))
            counts["failed_stuck"] += len(failed)
    if counts["republished"]:
        log.info("email.republished", count=counts["republished"])
    return counts
