"""How a task meets an API client's errors: one rule for every queue that calls a provider."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from celery import Task

from hookline.integrations.errors import RateLimited, Transient

LONGEST_BACKOFF = 300.0


@contextmanager
def api_retries(task: Task) -> Iterator[None]:
    """RateLimited: retry after exactly its `retry_after`. Transient: retry with exponential backoff.

    Permanent errors (AuthExpired, NotFound, refused) pass through: the caller records them and stops.
    """
    try:
        yield
    except RateLimited as exc:
        raise task.retry(countdown=exc.retry_after, exc=exc) from exc
    except Transient as exc:
        countdown = exc.retry_after or min(LONGEST_BACKOFF, 5.0 * 2 ** task.request.retries)
        raise task.retry(countdown=countdown, exc=exc) from exc
