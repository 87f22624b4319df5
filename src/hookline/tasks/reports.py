"""Tasks on the reports queue: a tenant's day rolled up, on demand or nightly (per-tenant fan-out)."""

from __future__ import annotations

from datetime import date, timedelta

import structlog

from hookline.db import tenant_session
from hookline.services import reporting
from hookline.workers.app import app
from hookline.workers.tenancy import TenantTask

log = structlog.get_logger(__name__)

# No retry options of their own: TenantTask's policy (workers/retry.py) retries PostgreSQL restarting
# or unreachable with backoff, and the day's replace is safe to redo.
ROLLUP_OPTIONS = {
    "base": TenantTask,
    "soft_time_limit": 1500,
    "time_limit": 1800,
}


@app.task(
    name="hookline.tasks.reports.rollup_day",
    **ROLLUP_OPTIONS,
)
def rollup_day(*, tenant_id: int, day: str) -> dict[str, int]:
    """Recompute every KPI of the tenant's local `day` (YYYY-MM-DD); running it again changes nothing."""
    with tenant_session(tenant_id) as session:
        result = reporting.rollup(session, tenant_id, date.fromisoformat(day))
    log.info("reports.rolled_up", day=day, rows=result.rows, skipped=result.skipped)
    return result.rows


@app.task(
    name="hookline.tasks.reports.nightly_rollup",
    **ROLLUP_OPTIONS,
)
def nightly_rollup(*, tenant_id: int, local_date: str) -> dict[str, int]:
    """The tenant's night: roll up the local day before `local_date` (what the shared fan-out passes).

    Beat's per-tenant fan-out (maintenance.fan_out, scheduler/schedule.py) sends it once per tenant
    and local date, once the tenant's clock passes 04:00 (the schedule's hour); a missed night is caught up by
    the next tick, and a repeat changes nothing (the day is replaced).
    """
    return rollup_day.run(tenant_id=tenant_id, day=(date.fromisoformat(local_date) - timedelta(days=1)).isoformat())
