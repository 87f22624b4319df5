"""What every task run leaves behind: log context, a task_runs row, Prometheus counters.

task_prerun binds tenant, task, event and request id to structlog's context and records the
start; task_postrun (which Celery sends with the final state and, for a failure, a retry or a
rejection, the exception as `retval`) records the end and clears the context, after Celery's
own "succeeded"/"failed" line so that line carries them too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import structlog
from celery import signals

from hookline.workers import metrics
from hookline.workers.routing import delivered_from
from hookline.workers.taskruns import STATES, recorder


@dataclass
class Run:
    tenant_id: int | None
    labels: tuple[str, str, str]
    started: float
    recorded: bool  # its start was sent to task_runs


_runs: dict[str, Run] = {}  # by task id; a child runs one task at a time, a thread pool several


def message_header(task: Any, name: str) -> Any:
    """A custom message header: Celery puts protocol-2 headers on the request itself."""
    request = task.request
    return getattr(request, name, None) or (getattr(request, "headers", None) or {}).get(name)


def _tenant(kwargs: dict[str, Any] | None) -> int | None:
    tenant_id = (kwargs or {}).get("tenant_id")
    return tenant_id if isinstance(tenant_id, int) and not isinstance(tenant_id, bool) and tenant_id > 0 else None


def _ids(value: Any) -> list[int] | None:
    """A batch's `event_ids` argument, if it is a list of ids."""
    if isinstance(value, list) and value and all(type(item) is int for item in value):
        return value
    return None


@signals.task_prerun.connect
def _started(task_id: str | None = None, task: Any = None, kwargs: dict[str, Any] | None = None, **_: Any) -> None:
    tenant_id = _tenant(kwargs)
    event_id = (kwargs or {}).get("event_id")
    event_ids = _ids((kwargs or {}).get("event_ids"))
    request_id = message_header(task, "request_id")
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(task_id=task_id, task=task.name, tenant_id=tenant_id,
                                           **({"event_id": event_id} if event_id is not None else {}),
                                           **({"events": len(event_ids)} if event_ids else {}),
                                           **({"request_id": request_id} if request_id else {}))
    queue = delivered_from((task.request.delivery_info or {}).get("routing_key") or "")
    labels = (task.name, queue, str(tenant_id or metrics.NO_TENANT))
    metrics.TASKS_STARTED.labels(*labels).inc()
    recorded = False
    # task_runs is tenant-owned: a system task leaves metrics and logs only.
    if tenant_id is not None and task_id is not None:
        recorded = recorder.start(tenant_id, task=task.name, queue=queue or None, task_id=task_id,
                                  event_id=event_id if isinstance(event_id, int) else None,
                                  attempt=task.request.retries + 1, request_id=request_id, event_ids=event_ids)
    if task_id is not None:  # Celery always names the run; the signal's signature does not promise it
        _runs[task_id] = Run(tenant_id, labels, time.perf_counter(), recorded)


@signals.task_postrun.connect
def _finished(task_id: str | None = None, state: str | None = None, retval: Any = None, **_: Any) -> None:
    run = _runs.pop(task_id, None) if task_id is not None else None
    structlog.contextvars.clear_contextvars()
    if run is None:
        return
    runtime = time.perf_counter() - run.started
    counter = metrics.BY_STATE.get(state or "")
    if counter is not None:
        counter.labels(*run.labels).inc()
    metrics.TASK_RUNTIME.labels(*run.labels[:2]).observe(runtime)
    if run.recorded and run.tenant_id is not None and task_id is not None:
        error = f"{type(retval).__name__}: {retval}" if isinstance(retval, BaseException) else None
        recorder.finish(run.tenant_id, state=STATES.get(state or "", (state or "unknown").lower()),
                        runtime=runtime, error=error, task_id=task_id)


@signals.task_rejected.connect
def _unknown_message(message: Any = None, exc: Any = None, **_: Any) -> None:
    # A message the worker cannot run at all (unregistered task, undecodable body): no tenant to file it under.
    headers = getattr(message, "headers", None) or {}
    metrics.TASKS_REJECTED.labels(str(headers.get("task", "unknown")), "", str(headers.get("tenant_id", "none"))).inc()


@signals.worker_process_init.connect
def _fresh_connection(**_: Any) -> None:
    recorder.reset()
