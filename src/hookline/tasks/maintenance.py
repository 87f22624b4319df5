"""Tasks on the maintenance queue: the relay, and the fan-out that turns one cron tick into a task per tenant."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from sqlalchemy import select

from hookline.db import global_session, tenant_session
from hookline.models import Tenant
from hookline.services import inbox, scheduling
from hookline.workers.app import app
from hookline.workers.handlers import handler_for
from hookline.workers.publish import publish

log = structlog.get_logger(__name__)


def tenant_ids() -> list[int]:
    return [tenant_id for tenant_id, _ in tenant_zones()]


def tenant_zones() -> list[tuple[int, str]]:
    with global_session() as session:
        return [(tenant_id, zone) for tenant_id, zone in session.execute(select(Tenant.id, Tenant.timezone).order_by(Tenant.id))]


# A system task, not a TenantTask: beat starts it with no tenant; it reads only the tenant list
# globally and everything else through tenant_session, one tenant at a time.
@app.task(name="hookline.tasks.maintenance.relay_unpublished")
def relay_unpublished(older_than_seconds: float = 10.0, batch: int = 500) -> int:
    """Publish every pending inbox row older than `older_than_seconds` that was never published.

    The ingress commits, then publishes; when the broker was down, the row waits here. The age
    threshold keeps the relay out of the ingress's way on the normal path.
    """
    relayed = 0
    for tenant_id in tenant_ids():
        with tenant_session(tenant_id) as session:
            for event in inbox.unpublished(session, tenant_id, older_than=timedelta(seconds=older_than_seconds),
                                           limit=batch):
                handler = handler_for(event.provider, event.event_type)
                if handler is None:  # its handler was removed since it was stored: nothing to run
                    continue
                publish(handler.task, tenant_id=tenant_id, event_id=event.id)
                inbox.mark_published(session, tenant_id, event.id)
                relayed += 1
    if relayed:
        log.info("relay.published", count=relayed)
    return relayed


@app.task(name="hookline.tasks.maintenance.fan_out")
def fan_out(task: str, at_local_hour: int = 0, now: str | None = None) -> int:
    """Enqueue `task` (a TenantTask taking `local_date`) once per tenant and local date, in the tenant's zone.

    Beat runs this every hour; a tenant gets its task at the first run once its own clock has
    passed `at_local_hour`, with its local date, and never twice for one date (scheduled_runs).
    A tick missed while beat was down is made up by the next. Each tenant is its own small task,
    and here its own transaction: a bad time zone or a failing tenant is logged and skipped,
    never blocking the others. `now` (ISO 8601) is for tests; beat leaves it out.
    """
    moment = datetime.fromisoformat(now) if now else datetime.now(timezone.utc)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    sent = 0
    for tenant_id, zone in tenant_zones():
        try:
            local = moment.astimezone(ZoneInfo(zone))
        except (ZoneInfoNotFoundError, ValueError):
            log.error("fan_out.bad_timezone", task=task, tenant_id=tenant_id, timezone=zone)
            continue
        if local.hour < at_local_hour:
            continue
        try:
            with tenant_session(tenant_id) as session:  # the claim commits only if the publish worked
                if scheduling.claim_tenant_run(session, tenant_id, task, local.date()):
                    publish(task, tenant_id=tenant_id, local_date=local.date().isoformat())
                    sent += 1
        except Exception:  # one tenant's failure (its publish, its row) must not stop the rest
            log.exception("fan_out.tenant_failed", task=task, tenant_id=tenant_id)
    log.info("fan_out.enqueued", task=task, count=sent)
    return sent
