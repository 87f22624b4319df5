"""The time limits that make at-least-once delivery real, in one place (docs/operations.md says why).

With Redis as the broker, a message a worker has taken but not acknowledged is handed out again
after the visibility timeout. With late acknowledgement that covers the whole run, so the
timeout must outlast the longest hard time limit, or a slow task still running is delivered a
second time. A delayed task (countdown / ETA) also sits unacknowledged in a worker until it is
due, so its delay plus its run must fit in the timeout as well.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

# Every task, unless it declares its own: SoftTimeLimitExceeded at the soft limit (clean up,
# record, re-raise), the child killed at the hard one.
DEFAULT_SOFT_TIME_LIMIT = 300
DEFAULT_TIME_LIMIT = 360
# No task may declare a hard limit above this (tests check every registered task).
LONGEST_TIME_LIMIT = 3600
VISIBILITY_TIMEOUT = 2 * LONGEST_TIME_LIMIT
# Longer delays live in PostgreSQL (a due-at column) and beat picks them up.
LONGEST_BROKER_DELAY = VISIBILITY_TIMEOUT - LONGEST_TIME_LIMIT
# A worker child whose resident memory grows past this is replaced after its current task (KiB).
MAX_MEMORY_PER_CHILD_KIB = 512_000


class DelayTooLong(ValueError):
    """A countdown or ETA the broker would not hold safely; keep the delay in PostgreSQL instead."""


def refuse_long_delay(options: dict[str, Any], *, now: datetime | None = None) -> None:
    """Raise DelayTooLong when `countdown` or `eta` in publish options exceeds LONGEST_BROKER_DELAY."""
    delay = options.get("countdown")
    eta = options.get("eta")
    if eta is not None:
        eta = datetime.fromisoformat(eta) if isinstance(eta, str) else eta
        moment = now or datetime.now(eta.tzinfo or timezone.utc)
        delay = max(delay or 0, (eta - moment).total_seconds())
    if delay is not None and delay > LONGEST_BROKER_DELAY:
        raise DelayTooLong(
            f"a delay of {int(delay)} s is longer than the broker holds safely ({LONGEST_BROKER_DELAY} s): "
            "store the due time in PostgreSQL and let beat pick the work up"
        )
