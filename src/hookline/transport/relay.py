"""The relay's and the sweeper's reads: inbox rows whose publish is missing or lost, published again.

The inbox in PostgreSQL is the truth and the broker a transport. The relay publishes the pending
rows never published (the ingress's publish failed, or it was killed before it), the sweeper the
pending rows published long ago (a broker that lost its messages). Beat runs both as maintenance
tasks (tasks/maintenance.py), tenant by tenant; each row published here is stamped `published_at`
in the same transaction, so a failed publish rolls its tenant's stamps back and the row is found again.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache

import redis
import structlog
from sqlalchemy.orm import Session

from hookline.config import broker_redis_url, get_settings
from hookline.models import WebhookEvent
from hookline.redis_clients import sync_client
from hookline.services import inbox
from hookline.transport import batches, published
from hookline.transport.lanes import Lanes
from hookline.transport.publish import publish
from hookline.workers.handlers import handler_for

log = structlog.get_logger(__name__)


@cache
def relay_lanes() -> Lanes:
    return Lanes.from_settings()  # one Redis client per worker process, not one per run


@cache
def broker_marks() -> redis.Redis | None:
    """A client of the broker's Redis, where the ingress records what it published (None: another broker)."""
    url = broker_redis_url(get_settings().broker)
    return sync_client(url, socket_timeout=2, socket_connect_timeout=2) if url else None


def published_by_ingress(events: list[WebhookEvent]) -> set[int]:
    """The events among `events` the ingress published: their bit is set, and no worker has run them yet."""
    client = broker_marks()
    if client is None:
        return set()
    return published.marked(client, [event.id for event in events if event.attempts == 0])


def publish_unpublished(session: Session, tenant_id: int, *, older_than: timedelta, limit: int) -> int:
    """Publish a tenant's pending rows older than `older_than` never published; the number published.

    On a Redis broker the ingress stamps nothing in PostgreSQL: a row it published has its bit set
    in the broker (transport/published.py), and is stamped here, not published again.
    """
    events = inbox.unpublished(session, tenant_id, older_than=older_than, limit=limit)
    known = published_by_ingress(events) if events else set()
    if known:
        published.mark_published(session, tenant_id, *known)
        log.info("relay.found_published", tenant_id=tenant_id, count=len(known))
        events = [event for event in events if event.id not in known]
    return _publish(session, tenant_id, events)


def publish_stale(session: Session, tenant_id: int, *, older_than: timedelta, limit: int) -> int:
    """Publish again a tenant's rows still pending `older_than` after they were published; the number."""
    return _publish(session, tenant_id, inbox.stale(session, tenant_id, older_than=older_than, limit=limit),
                    again=True)


def _publish(session: Session, tenant_id: int, events: list[WebhookEvent], *, again: bool = False) -> int:
    """Publish `events` and stamp them, in batches where their task takes them (transport/batches.py).

    A backlog caught up here counts toward the tenant's burst like the ingress's publishes: a
    tenant's flood left behind by a broker outage goes to the bulk lane (transport/lanes.py).
    """
    settings = get_settings()
    bulk = tenant_id in relay_lanes().hot({tenant_id: len(events)}) if events else False
    by_task: dict[str, list[int]] = {}
    for event in events:
        handler = handler_for(event.provider, event.event_type)
        if handler is not None:  # None: its handler was removed since it was stored, nothing to run
            by_task.setdefault(handler.task, []).append(event.id)
    sent = 0
    for task, event_ids in by_task.items():
        for name, kwargs in batches.messages(task, event_ids, settings.bulk_batch_size if bulk else settings.batch_size):
            publish(name, tenant_id=tenant_id, bulk=bulk, **kwargs)
            ids = kwargs.get("event_ids") or [kwargs["event_id"]]
            published.mark_published(session, tenant_id, *ids, again=again)
            sent += len(ids)
    return sent
