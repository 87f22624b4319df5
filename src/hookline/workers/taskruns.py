"""Task-run history in PostgreSQL, written from the worker's signals; never fails the task, never waits on it.

Two autocommitted statements per run, on a connection kept per worker thread, each with
synchronous_commit off for its own transaction (bench/task_runs.py measures it):
`hookline_task_run_start` when the task starts (so a running task, or one whose worker died, is
visible as `started`) and
`hookline_task_run_finish` when it ends. Each sets the tenant for row-level security inside its
own transaction. Neither is waited for: each is sent and the task goes on, while PostgreSQL
commits it; its answer is read just before the thread's next statement (the start's answer, the
run's id, by `finish`; the finish's by the next `start`), when it has long arrived. A write that
fails is logged and counted (`hookline_worker_task_run_write_failures_total`) when its answer is
read, the task goes on; after a failure the recorder rests for a few seconds so a database
outage does not add a connect timeout to every task.
"""

from __future__ import annotations

import select
import threading
import time
from typing import Any

import psycopg
import structlog
from celery import states
from psycopg.pq import ExecStatus

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
MAX_OPEN_RUNS = 1000
REST_SECONDS = 5.0

# Each statement is its own transaction (autocommit), and turns off waiting for its commit's WAL
# flush (~5 ms here, twice per task) for that transaction alone: a setting of the connection would
# stay behind on a pooler's server connection, and PgBouncer refuses one sent at connect. A
# database crash may lose the last fraction of a second of history, never a task's data.
_NO_FLUSH_WAIT = b", set_config('synchronous_commit', 'off', true)"
_START = b"SELECT hookline_task_run_start($1, $2, $3, $4, $5, $6, $7, $8::bigint[])" + _NO_FLUSH_WAIT
_FINISH = b"SELECT hookline_task_run_finish($1, $2, $3, $4, $5)" + _NO_FLUSH_WAIT


class RecordFailed(Exception):
    """PostgreSQL refused a task_runs statement, or the connection broke."""


def _text(value: Any) -> bytes | None:
    if isinstance(value, list):  # a batch's event ids, as an array literal
        return ("{" + ",".join(str(int(item)) for item in value) + "}").encode()
    return None if value is None else str(value).encode()


class Recorder:
    """One per process; a psycopg connection per thread (prefork: one; threads pool: one each)."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._resting_until = 0.0

    def start(self, tenant_id: int, *, task: str, queue: str | None, task_id: str, event_id: int | None,
              attempt: int, request_id: str | None, event_ids: list[int] | None = None) -> bool:
        """Send the run's `started` row (not waiting for it); False when resting or it could not be sent.

        `event_ids`: a batch's events (transport/batches.py), kept in the row's `event_ids`."""
        return self._send("start", _START, (tenant_id, task, queue, task_id, event_id, attempt, request_id,
                                            event_ids), task_id)

    def finish(self, tenant_id: int, *, state: str, runtime: float, error: str | None, task_id: str) -> None:
        """Send the end of this thread's run of `task_id` (its row id comes with the start's answer)."""
        self._answers()
        run_id = getattr(self._local, "run_ids", {}).pop(task_id, None)
        if run_id is None:  # the start was refused (logged then) or never sent
            return
        self._send("finish", _FINISH, (tenant_id, run_id, state, runtime, error and error[:ERROR_CHARS]), task_id)

    def flush(self) -> None:
        """Read every answer still due (the next statement would): for tests and benches."""
        self._answers()

    def reset(self) -> None:
        """Forget this thread's connection (a forked child must not share its parent's)."""
        self._local.__dict__.clear()

    def _send(self, kind: str, sql: bytes, params: tuple[Any, ...], task_id: str) -> bool:
        self._answers()
        if time.monotonic() < self._resting_until:
            return False
        try:
            pgconn = self._connection().pgconn
            pgconn.send_query_params(sql, [_text(value) for value in params])
            while pgconn.flush():  # psycopg's connections are non-blocking: 1 means not all of it went out yet
                select.select([], [pgconn.socket], [], REST_SECONDS)
        except Exception as exc:  # noqa: BLE001 - the history is worth less than the task: log, count, go on
            self._failed(task_id, exc)
            return False
        self._local.due.append((kind, task_id))
        return True

    def _answers(self) -> None:
        """Read the answers to what this thread sent, in order; a start's answer is its run's row id."""
        due = getattr(self._local, "due", None)
        while due:
            kind, task_id = due.pop(0)
            try:
                value = self._answer()
            except Exception as exc:  # noqa: BLE001 - as above: the history is worth less than the task
                self._failed(task_id, exc)
                return
            if kind == "start" and value is not None:
                if len(self._local.run_ids) >= MAX_OPEN_RUNS:  # starts whose finish never came (a signal raised)
                    self._local.run_ids.clear()
                self._local.run_ids[task_id] = int(value)

    def _answer(self) -> bytes | None:
        pgconn = self._local.connection.pgconn
        results = []
        while (result := pgconn.get_result()) is not None:  # blocks only if PostgreSQL is still at it
            results.append(result)
        if not results:
            raise RecordFailed(pgconn.get_error_message().decode(errors="replace") or "no answer")
        result = results[-1]
        if result.status != ExecStatus.TUPLES_OK:
            raise RecordFailed(result.get_error_message().decode(errors="replace").strip())
        return result.get_value(0, 0)

    def _failed(self, task_id: str, exc: Exception) -> None:
        from hookline.workers.metrics import TASK_RUN_WRITE_FAILURES

        TASK_RUN_WRITE_FAILURES.inc()
        log.warning("task_runs.write_failed", run_task_id=task_id, error=repr(exc))
        self._drop()
        self._resting_until = time.monotonic() + REST_SECONDS

    def _connection(self) -> psycopg.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None or connection.closed:
            settings = get_settings()
            connection = psycopg.connect(libpq_url(settings.database_url or ""), autocommit=True, connect_timeout=2,
                                         application_name="hookline-task-runs", **settings.psycopg_kwargs())
            self._local.connection = connection
            self._local.due = []  # (kind, task id) of each statement sent and not answered yet
            self._local.run_ids = {}  # task id → its run's row id, from the start's answer
        return connection

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        self._local.due = []  # their answers went with the connection
        if connection is not None:
            try:
                connection.close()
            except Exception as exc:  # noqa: BLE001 - already broken; nothing else to release
                log.debug("task_runs.close_failed", error=repr(exc))


recorder = Recorder()
