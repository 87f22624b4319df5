"""The whole beat schedule in one place: what runs, when, on which queue (by task module)."""

from typing import Any

beat_schedule: dict[str, dict[str, Any]] = {
    # maintenance: publish inbox rows committed while the broker was unreachable.
    "relay-unpublished": {
        "task": "hookline.tasks.maintenance.relay_unpublished",
        "schedule": 5.0,
        "options": {"expires": 5.0},  # a relay that could not run in time is replaced by the next
    },
    # maintenance: publish again inbox rows still pending long after they were published (lost messages).
    "sweep-stale": {
        "task": "hookline.tasks.maintenance.sweep_stale",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
}
