"""Task-run history in PostgreSQL, written from the worker's signals; never fails the task.

Two autocommitted statements per run, one round trip each, on a connection kept per worker
thread, with synchronous_commit off (bench/task_runs.py measures it): `hookline_task_run_start` when the task starts (so a running task, or one whose worker
died, is visible as `started`) and `hookline_task_run_finish` when it ends. Each sets the tenant
for row-level security inside its own transaction. A write that fails is logged and counted
(`hookline_worker_task_run_write_failures_total`), the task goes on; after a failure the
recorder rests for a few seconds so a database outage does not add a connect timeout to every task.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import structlog
from celery import states

from hookline.config import get_settings, libpq_url
from hookline.models import RunState

log = structlog.get_logger(__name__)

STATES = {
    states.SUCCESS: RunState.SUCCEEDED.value,
    states.FAILURE: RunState.FAILED.value,
    states.RETRY: RunState.RETRIED.value,
    states.REJECTED: RunState.REJECTED.value,
    states.IGNORED: RunState.IGNORED.value,
}
ERROR_CHARS = 2000
REST_SECONDS = 5.0

_START = "SELECT hookline_task_run_start(%s, %s, %s, %s, %s, %s, %s)"
_FINISH = "SELECT hookline_task_run_finish(%s, %s, %s, %s, %s)"


class Recorder:
    """One per process; a psycopg connection per thread (prefork: one; threads pool: one each)."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._resting_until = 0.0

    def start(self, tenant_id: int, *, task: str, queue: str | None, task_id: str, event_id: int | None,
              attempt: int, request_id: str | None) -> int | None:
        """The new run's id, or None when it could not be written."""
        row = self._execute(_START, (tenant_id, task, queue, task_id, event_id, attempt, request_id), task_id)
        return None if row is None else row[0]

    def finish(self, tenant_id: int, run_id: int, *, state: str, runtime: float, error: str | None,
               task_id: str) -> None:
        self._execute(_FINISH, (tenant_id, run_id, state, runtime, error and error[:ERROR_CHARS]), task_id)

    def reset(self) -> None:
        """Forget this thread's connection (a forked child must not share its parent's)."""
        self._local.__dict__.clear()

    def _execute(self, sql: str, params: tuple[Any, ...], task_id: str) -> tuple[Any, ...] | None:
        if time.monotonic() < self._resting_until:
            return None
        try:
            connection = self._connection()
            return connection.execute(sql, params).fetchone()
        except Exception as exc:  # the history is worth less than the task: log, count, go on
            from hookline.workers.metrics import TASK_RUN_WRITE_FAILURES

            TASK_RUN_WRITE_FAILURES.inc()
            log.warning("task_runs.write_failed", run_task_id=task_id, error=repr(exc))
            self._drop()
            self._resting_until = time.monotonic() + REST_SECONDS
            return None

    def _connection(self) -> psycopg.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None or connection.closed:
            # synchronous_commit off: a commit does not wait for its WAL flush (~5 ms here, twice per
            # task). A database crash may lose the last fraction of a second of history, never a task's data.
            connection = psycopg.connect(libpq_url(get_settings().database_url or ""), autocommit=True,
                                         connect_timeout=2, application_name="hookline-task-runs",
                                         options="-c synchronous_commit=off")
            self._local.connection = connection
        return connection

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            try:
                connection.close()
            except Exception as exc:  # already broken; nothing else to release
                log.debug("task_runs.close_failed", error=repr(exc))


recorder = Recorder()
