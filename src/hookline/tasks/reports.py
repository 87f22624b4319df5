"""Tasks on the reports queue: a tenant's day rolled up, and the nightly fan-out that asks for it."""

from __future__ import annotations

from datetime import date, datetime, timezone

import structlog
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from hookline.db import global_session, tenant_session
from hookline.models import Tenant
from hookline.services import reporting
from hookline.workers.app import app
from hookline.workers.tenancy import TenantTask

log = structlog.get_logger(__name__)

# Each tenant's yesterday is rolled up in this hour of its own night: late enough that no
# daylight-saving change (00:00-03:00 local in every zone that has one) skips or repeats it.
NIGHTLY_LOCAL_HOUR = 4


@app.task(
    base=TenantTask,
    name="hookline.tasks.reports.rollup_day",
    autoretry_for=(OperationalError,),  # PostgreSQL restarting or unreachable: the replace is safe to redo
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
    soft_time_limit=1500,
    time_limit=1800,
)
def rollup_day(*, tenant_id: int, day: str) -> dict[str, int]:
    """Recompute every KPI of the tenant's local `day` (YYYY-MM-DD); running it again changes nothing."""
    with tenant_session(tenant_id) as session:
        result = reporting.rollup(session, tenant_id, date.fromisoformat(day))
    log.info("reports.rolled_up", day=day, rows=result.rows, skipped=result.skipped)
    return result.rows


def due_rollups(now: datetime) -> list[tuple[int, date]]:
    """(tenant, local yesterday) for every tenant whose clock is in NIGHTLY_LOCAL_HOUR at `now`."""
    with global_session() as session:
        tenants = session.execute(select(Tenant.id, Tenant.timezone).order_by(Tenant.id)).all()
    due = [(tenant_id, reporting.nightly_day(zone, now, NIGHTLY_LOCAL_HOUR)) for tenant_id, zone in tenants]
    return [(tenant_id, day) for tenant_id, day in due if day is not None]


def fan_out_nightly(now: datetime) -> int:
    """One rollup_day per due tenant, so one tenant's failure or slowness never holds up another.

    Small on purpose: the shared per-tenant fan-out (beat leader, catch-up of missed ticks) replaces it.
    """
    due = due_rollups(now)
    for tenant_id, day in due:
        rollup_day.apply_async(kwargs={"tenant_id": tenant_id, "day": day.isoformat()})
    return len(due)


# A system task, not a TenantTask: beat starts it hourly with no tenant (scheduler/schedule.py).
@app.task(name="hookline.tasks.reports.nightly_rollups")
def nightly_rollups(now: str | None = None) -> int:
    """Enqueue the roll-ups due in this hour; `now` (ISO, time-zone aware) is for tests and replays.

    The hour is the tick's hour (`now` rounded down), so a fan-out that waited in the queue for a
    few minutes still picks the tenants of the hour it was scheduled for.
    """
    moment = datetime.fromisoformat(now) if now else datetime.now(timezone.utc)
    if moment.tzinfo is None:
        raise ValueError(f"now must carry a time zone, got {now!r}")
    count = fan_out_nightly(moment.replace(minute=0, second=0, microsecond=0))
    log.info("reports.nightly_enqueued", count=count)
    return count
