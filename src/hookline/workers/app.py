"""The Celery app: broker from settings, queues and routes from routing.py, tenant context in logs."""

from __future__ import annotations

import structlog
from celery.utils.saferepr import saferepr
from celery import Celery, signals

from hookline.config import get_settings
from hookline.db import reset_engine
from hookline.scheduler.schedule import beat_schedule
from hookline.workers import limits
from hookline.workers.logs import configure_logging
from hookline.workers.tenancy import redacted
from hookline.workers.routing import task_queues, task_routes

TASK_MODULES = ["hookline.tasks.ghl_sync", "hookline.tasks.reonic_sync", "hookline.tasks.email", "hookline.tasks.maintenance",
                "hookline.tasks.reports"]

app = Celery("hookline", include=TASK_MODULES)
app.conf.update(
    # Raises ConfigError naming HOOKLINE_BROKER_URL when it is unset: never fall back to a default broker.
    broker_url=get_settings().broker,
    task_queues=task_queues,
    task_routes=task_routes,
    task_default_queue="webhooks",
    task_create_missing_queues=False,
    task_serializer="json",
    accept_content=["json"],
    result_backend=None,
    task_ignore_result=True,
    # At-least-once: acknowledge after the task ran, and re-deliver if its worker died.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    # Limits (workers/limits.py, docs/operations.md): the visibility timeout outlasts any task's
    # hard limit, so Redis never re-delivers a task that is still running.
    task_soft_time_limit=limits.DEFAULT_SOFT_TIME_LIMIT,
    task_time_limit=limits.DEFAULT_TIME_LIMIT,
    broker_transport_options={"visibility_timeout": limits.VISIBILITY_TIMEOUT},
    worker_max_memory_per_child=limits.MAX_MEMORY_PER_CHILD_KIB,
    worker_prefetch_multiplier=4,
    worker_hijack_root_logger=False,
    # Flower shows tasks from the workers' events (received, started, succeeded, with kwargs and so
    # the tenant id). No "task-sent" event from publishers: it was a second Redis write per publish
    # on the ingress's hot path, and only added the SENT state before "received".
    worker_send_task_events=True,
    task_send_sent_event=False,
    broker_connection_retry_on_startup=True,
    beat_schedule=beat_schedule,
    timezone="UTC",
)


@signals.setup_logging.connect
def _setup_logging(loglevel=None, **_) -> None:
    configure_logging(loglevel or "INFO")


@signals.worker_process_init.connect
def _fresh_pool(**_) -> None:
    # A forked child must not share the parent's pooled PostgreSQL connections.
    reset_engine()


@signals.task_prerun.connect
def _bind_task_context(task_id=None, task=None, kwargs=None, **_) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(
        task_id=task_id, task=getattr(task, "name", None), tenant_id=(kwargs or {}).get("tenant_id")
    )


@signals.task_postrun.connect
def _clear_task_context(**_) -> None:
    # Runs after Celery's own "succeeded"/"failed" line, so that line carries the tenant too.
    structlog.contextvars.clear_contextvars()


@signals.before_task_publish.connect
def _redact_kwargsrepr(body=None, headers=None, **_) -> None:
    # Flower and the workers' events show a task's arguments from `kwargsrepr`: never a secret.
    if headers is not None and isinstance(body, (tuple, list)) and len(body) >= 2 and isinstance(body[1], dict):
        headers["kwargsrepr"] = saferepr(redacted(body[1]))
