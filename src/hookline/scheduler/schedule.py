"""The whole beat schedule in one place: what runs, when, on which queue (by task module)."""

from typing import Any

from celery.schedules import crontab

beat_schedule: dict[str, dict[str, Any]] = {
    # maintenance: publish inbox rows committed while the broker was unreachable.
    "relay-unpublished": {
        "task": "hookline.tasks.maintenance.relay_unpublished",
        "schedule": 5.0,
        "options": {"expires": 5.0},  # a relay that could not run in time is replaced by the next
    },
    # maintenance: email outbox rows whose send was never published or was lost; sends cut off mid-way.
    "sweep-email-outbox": {
        "task": "hookline.tasks.maintenance.sweep_email_outbox",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    # maintenance: recording uploads never published (a worker died after registering them) or lost.
    "sweep-recordings": {
        "task": "hookline.tasks.maintenance.sweep_recordings",
        "schedule": 300.0,
        "options": {"expires": 300.0},
    },
    # reports: every hour on the hour, a rollup_day for each tenant whose clock reads 04:xx, for
    # its local yesterday (tasks/reports.NIGHTLY_LOCAL_HOUR): nightly, in each tenant's time zone.
    "nightly-reports": {
        "task": "hookline.tasks.reports.nightly_rollups",
        "schedule": crontab(minute=0),
        # Not started within 50 minutes: dropped rather than run for the wrong hour's tenants
        # (recompute with `hookline reports run`).
        "options": {"expires": 3000.0},
    },
    # maintenance: task-run history older than HOOKLINE_TASK_RUNS_RETENTION_DAYS.
    "prune-task-runs": {
        "task": "hookline.tasks.maintenance.prune_task_runs",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
    # maintenance: publish again inbox rows still pending long after they were published (lost messages).
    "sweep-stale": {
        "task": "hookline.tasks.maintenance.sweep_stale",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
}
