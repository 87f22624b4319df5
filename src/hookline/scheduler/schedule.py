"""The whole beat schedule in one place: what runs, when, on which queue (by task module).

Cron work for tenants goes through `maintenance.fan_out`: beat sends one small system task,
which enqueues the named TenantTask once per tenant and local date, once the tenant's own
clock (`tenants.timezone`) has passed `at_local_hour`. Hourly ticks make that hour local to
every zone (half-hour zones get it at :30); a tick missed while no beat ran is made up by the
next one. A per-tenant task takes `tenant_id` and `local_date` (ISO) and must be idempotent for
its date. Times below are UTC (workers/app.py sets `timezone="UTC"`).
"""

from typing import Any

from celery.schedules import crontab

# Beat's ticks (the relay every 5 s, the sweepers, the pruning, the install resumer) send no task
# events: Flower's task list was mostly relay runs. Nor do they log a line per run at INFO (beat's
# "beat.sent", the worker's "received" and "succeeded": workers/logs.py), which filled the dev log.
# Their runs are still in task_runs and the worker metrics (signals); a failure still logs.
TICK_EVENTS = False


def per_tenant(task: str, *, at_local_hour: int) -> dict[str, Any]:
    """An hourly fan-out of `task` (a TenantTask taking local_date) to every tenant, in its time zone."""
    return {
        "task": "hookline.tasks.maintenance.fan_out",
        "schedule": crontab(minute=0),
        "kwargs": {"task": task, "at_local_hour": at_local_hour},
        "options": {"expires": 3000},  # a fan-out still queued at the next tick is replaced by it
    }


def every(task: str, seconds: float) -> dict[str, Any]:
    """`task` every `seconds`; a run still queued when the next is due expires (the next replaces it)."""
    return {"task": task, "schedule": seconds, "options": {"expires": seconds}}


beat_schedule: dict[str, dict[str, Any]] = {
    # maintenance: publish inbox rows committed while the broker was unreachable.
    "relay-unpublished": every("hookline.tasks.maintenance.relay_unpublished", 5.0),
    # maintenance: email outbox rows whose send was never published or was lost; sends cut off mid-way.
    "sweep-email-outbox": every("hookline.tasks.maintenance.sweep_email_outbox", 60.0),
    # maintenance: recording uploads never published (a worker died after registering them) or lost.
    "sweep-recordings": every("hookline.tasks.maintenance.sweep_recordings", 300.0),
    # maintenance: pushes to the CRM whose task was never published (lost after the commit) or lost.
    "sweep-pushes": every("hookline.tasks.maintenance.sweep_pushes", 300.0),
    # reports: each tenant's yesterday rolled up once its clock passes 04:00 (past every
    # daylight-saving change): the per-tenant fan-out, hourly, in each tenant's time zone.
    "nightly-reports": per_tenant("hookline.tasks.reports.nightly_rollup", at_local_hour=4),
    # maintenance: task-run history older than HOOKLINE_TASK_RUNS_RETENTION_DAYS.
    "prune-task-runs": every("hookline.tasks.maintenance.prune_task_runs", 3600.0),
    "prune-inbox": every("hookline.tasks.maintenance.prune_inbox", 3600.0),
    # maintenance: publish again inbox rows still pending long after they were published (lost messages).
    "sweep-stale": every("hookline.tasks.maintenance.sweep_stale", 60.0),
    # dunning: each tenant's daily ladder run, from 06:00 its local time (the `dunning` queue).
    "dunning-daily": per_tenant("hookline.tasks.dunning.run_daily", at_local_hour=6),
    # ghl_sync: every 15 minutes, an incremental reconciliation per tenant and resource since its
    # stored cursor (tasks/ghl_sync.reconcile_all); a live run is left alone, a stalled one resumed.
    "reconcile-ghl": every("hookline.tasks.ghl_sync.reconcile_all", 900.0),
    # ghl_sync: Marketplace install steps (an agency's listing, a location's first token) and
    # INSTALL / UNINSTALL webhooks whose task was lost are sent again (tasks/ghl_sync.resume_installs).
    "resume-ghl-installs": every("hookline.tasks.ghl_sync.resume_installs", 60.0),
    # reonic_sync: the same for every tenant connected to Reonic: its contacts, residential projects
    # and their offers (tasks/reonic_sync.reconcile_all), within Reonic's per-account rate limits.
    "reconcile-reonic": every("hookline.tasks.reonic_sync.reconcile_all", 900.0),
}
