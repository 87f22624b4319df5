"""The whole beat schedule in one place: what runs, when, on which queue (by task module)."""

from typing import Any

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
}
