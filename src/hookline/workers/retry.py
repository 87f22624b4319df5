"""The one retry policy: transient errors retry with jittered exponential backoff and a cap; others never.

`Retrying` applies it to every task (TenantTask is one; a system task with no tenant takes it as
its base), so a task body simply raises: no task declares `autoretry_for`. `backoff` is the one
delay, also for a task that retries on its own terms (email, recordings). Which errors are transient
is decided here, once: the provider said "later" (TransientError: timeouts, 5xx, 429), or
PostgreSQL is restarting or unreachable. Everything else — a provider's refusal (RejectedError),
a payload that does not validate, a bug — would fail the same way again: it goes straight to
dead letters, where an operator can replay it once the cause is fixed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog
from celery import Task
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from hookline.integrations.errors import RateLimited, RejectedError, TransientError
from hookline.workers.limits import LONGEST_BROKER_DELAY

log = structlog.get_logger(__name__)

TRANSIENT: tuple[type[BaseException], ...] = (TransientError, OperationalError, InterfaceError, PoolTimeout)
PERMANENT: tuple[type[BaseException], ...] = (RejectedError,)  # listed for the docs; not retried like any other

BASE_DELAY = 2.0  # seconds before the first retry (at most)
MAX_DELAY = 600.0  # the cap: no backoff step waits longer than this
MAX_RETRIES = 8  # 4 to 9 minutes of retries in all (2 s, 4 s, … 256 s, jittered), then dead letters


class InvalidArguments(ValueError):
    """A task's keyword arguments do not match its signature: no retry can fix that."""


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT) and not isinstance(exc, PERMANENT)


def backoff(retries: int, *, retry_after: float | None = None, base: float = BASE_DELAY, cap: float = MAX_DELAY,
            rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number `retries + 1`.

    Exponential from `base`, capped at `cap`, with "equal jitter" (half fixed, half random) so
    that tasks failing together do not come back together, and none comes back at once. A
    provider's `Retry-After` is a floor; no delay is longer than the broker holds a delayed
    message (LONGEST_BROKER_DELAY: the task then finds its work still due, and waits again).
    """
    ceiling = min(cap, base * 2 ** max(retries, 0))
    delay = ceiling / 2 + (rng or random).uniform(0, ceiling / 2)
    return min(LONGEST_BROKER_DELAY, max(delay, retry_after or 0.0))


class Retrying(Task):
    """A task whose transient errors retry after `backoff`, up to `max_retries`; other errors fail it."""

    abstract = True
    max_retries = MAX_RETRIES

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.request.called_directly:  # a plain function call (tests, a shell): no broker, no policy
            return super().__call__(*args, **kwargs)
        try:
            return super().__call__(*args, **kwargs)
        except TRANSIENT as exc:
            if not is_transient(exc):
                raise
            countdown = backoff(self.request.retries, retry_after=getattr(exc, "retry_after", None))
            log.warning("task.retry", error=repr(exc)[:300], retries=self.request.retries, countdown=round(countdown, 1))
            raise self.retry(exc=exc, countdown=countdown) from exc


@contextmanager
def api_retries(task: Task) -> Iterator[None]:
    """An API client's errors inside a task: RateLimited retries after exactly its `retry_after`,
    any other TransientError after `backoff` (the provider's Retry-After a floor).

    The retry is the task's own, so a task that declares its own `max_retries` (a backfill
    meets many rate limits) keeps it. Permanent errors (AuthExpired, NotFound, refused) pass
    through: the caller records them and stops.
    """
    try:
        yield
    except RateLimited as exc:
        raise task.retry(countdown=exc.retry_after, exc=exc) from exc
    except TransientError as exc:
        raise task.retry(countdown=backoff(task.request.retries, retry_after=exc.retry_after), exc=exc) from exc
