"""The whole beat schedule in one place: what runs, when, on which queue (by task module)."""

from typing import Any

beat_schedule: dict[str, dict[str, Any]] = {
    # maintenance: publish inbox rows committed while the broker was unreachable.
    "relay-unpublished": {
        "task": "hookline.tasks.maintenance.relay_unpublished",
        "schedule": 5.0,
        "options": {"expires": 5.0},  # a relay that could not run in time is replaced by the next
    },
    # maintenance: task-run history older than HOOKLINE_TASK_RUNS_RETENTION_DAYS.
    "prune-task-runs": {
        "task": "hookline.tasks.maintenance.prune_task_runs",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
}
