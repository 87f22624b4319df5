"""The Celery app: broker from settings, queues and routes from routing.py, tenant context in logs."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import click
import structlog
from celery import Celery, signals
from celery.utils.saferepr import saferepr

from hookline.config import ConfigError, broker_redis_url, get_settings
from hookline.db import reset_engine
from hookline.redis_clients import broker_transport_options
from hookline.scheduler.schedule import beat_schedule
from hookline.secrets_box import require_keys
from hookline.telemetry import reporting, tracing
from hookline.workers import kombu_redis_fix, limits, observe  # noqa: F401 - observe connects the task signals
from hookline.workers.logs import QuietTicks, configure_logging
from hookline.workers.routing import LANES, declare_every_queue, select_lanes, task_queues_for, task_routes
from hookline.workers.tenancy import redacted

TASK_MODULES = ["hookline.tasks.audio_upload", "hookline.tasks.dunning", "hookline.tasks.email", "hookline.tasks.ghl_sync",
                "hookline.tasks.maintenance", "hookline.tasks.reonic_sync", "hookline.tasks.reports"]

settings = get_settings()
kombu_redis_fix.install()  # a worker survives a Redis restart (the module says why); before any connection
app = Celery("hookline", include=TASK_MODULES)
app.conf.update(
    # Raises ConfigError naming HOOKLINE_BROKER_URL when it is unset: never fall back to a default broker.
    broker_url=settings.broker,
    # Quorum queues behind topic exchanges on RabbitMQ (routing.py says why). Celery then turns
    # global QoS off (worker_detect_quorum_queues) and delays countdown tasks in RabbitMQ itself.
    task_queues=task_queues_for(settings.broker),
    worker_detect_quorum_queues=True,  # Celery's default, relied upon: no global QoS on quorum queues
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
    # A sentinel:// broker adds the master's name (HOOKLINE_REDIS_SENTINEL_MASTER) and the Sentinels' options.
    # Redis: a worker asks for its main lanes before its bulk lanes (workers/lane_order.py).
    broker_transport_options={"visibility_timeout": limits.VISIBILITY_TIMEOUT,
                              "queue_order_strategy": "hookline.workers.lane_order:MainLanesFirst",
                              **broker_transport_options(settings.broker, settings.redis_sentinel_master)},
    worker_max_memory_per_child=limits.MAX_MEMORY_PER_CHILD_KIB,
    worker_prefetch_multiplier=4,
    # Redis: take a message only when a process is free to run it, so a quiet tenant's message never
    # waits behind messages the worker already holds (bench/fairness.py). RabbitMQ ignores it.
    worker_disable_prefetch=broker_redis_url(settings.broker) is not None,
    worker_hijack_root_logger=False,
    # Each worker also consumes its own queue, so `hookline worker-check` can reach that worker alone.
    worker_direct=True,
    # Flower shows tasks from the workers' events (received, started, succeeded, with kwargs and so
    # the tenant id). No "task-sent" event from publishers: it was a second Redis write per publish
    # on the ingress's hot path, and only added the SENT state before "received".
    worker_send_task_events=True,
    task_send_sent_event=False,
    broker_connection_retry_on_startup=True,
    beat_schedule=beat_schedule,
    # One leader among any number of beats; last runs in PostgreSQL (scheduler/beat.py).
    beat_scheduler="hookline.scheduler.beat:LeaderScheduler",
    timezone="UTC",
)


@signals.setup_logging.connect
def _setup_logging(loglevel: str | None = None, **_: Any) -> None:
    configure_logging(loglevel or "INFO")
    for handler in logging.getLogger().handlers:
        handler.addFilter(QuietTicks(app))


@signals.worker_init.connect
def _worker_telemetry(**_) -> None:
    # In the worker's main process, before the pool forks: the children inherit both (telemetry/).
    tracing.start_celery(get_settings(), "hookline-worker")
    reporting.start(get_settings(), celery=True)


@signals.beat_init.connect
def _beat_telemetry(**_) -> None:
    tracing.start_celery(get_settings(), "hookline-beat")
    reporting.start(get_settings(), celery=True)


@signals.celeryd_init.connect
def _refuse_without_secret_keys(**_) -> None:
    # Tasks seal and open API credentials: a worker must never make a key of its own. SystemExit,
    # not an exception: Celery logs a receiver's exception and starts all the same.
    try:
        require_keys(get_settings())
    except ConfigError as exc:
        raise SystemExit(f"hookline worker: {exc}") from None


@signals.worker_process_init.connect
def _fresh_pool(**_) -> None:
    # A forked child must not share the parent's pooled PostgreSQL connections.
    reset_engine()


# A `--lanes bulk` worker's nice increment (docs/operations.md, "Fairness lanes").
BULK_NICE = 10

# `celery worker --lanes`: which lanes of its tenant-event queues (transport/lanes.py) a worker serves.
app.user_options["worker"].add(click.Option(
    ["--lanes"], type=click.Choice(LANES), default="all", show_default=True,
    help="Of each tenant-event queue named by -Q: 'all' serves its main and bulk lanes, 'main' only the main "
         "lane, 'bulk' only the bulk lane, at a lower CPU priority (nice +10; docs/operations.md, Fairness lanes)."))


@signals.celeryd_after_setup.connect
def _consume_lanes(instance: Any = None, **_: Any) -> None:
    # By default a worker consuming a tenant-event queue consumes its bulk lane too (transport/lanes.py),
    # so no `-Q` list can leave a tenant's flood unserved; on Redis it then asks for its main lanes
    # first, and for the bulk lanes first once in BULK_EVERY messages (workers/lane_order.py).
    # `--lanes main` and `--lanes bulk` split them between two workers, so a quiet tenant's message
    # never waits for a process behind a flood's batch (docs/decisions.md, "One worker for both lanes").
    lanes = instance.options.get("lanes") or "all"
    select_lanes(instance.app.amqp.queues, lanes)
    if lanes == "bulk":
        # Floods' work yields the CPU to everything else: the main lanes' workers, the ingress,
        # PostgreSQL. Before the pool forks, so its processes inherit it; lowering needs no privilege.
        os.nice(BULK_NICE)
    declare_every_queue(instance.app)  # before the consumer binds them for delayed delivery


# The ingress's publisher makes its messages itself (transport/messages.py) and fires no Celery
# signal: it reproduces what this receiver adds, and tests/transport/test_publisher.py compares the
# two. A new before_task_publish receiver must be reproduced there as well, or the ingress's
# tasks go out without it. (With tracing on, the OpenTelemetry instrumentation's receiver adds
# `traceparent` in workers and beat; the ingress's jobs carry their request's: ingress/tracing.py.)
@signals.before_task_publish.connect
def _stamp_message(body: Any = None, headers: dict[str, Any] | None = None, **_: Any) -> None:
    if headers is None:
        return
    # Flower and the workers' events show a task's arguments from `kwargsrepr`: never a secret.
    if isinstance(body, (tuple, list)) and len(body) >= 2 and isinstance(body[1], dict):
        headers["kwargsrepr"] = saferepr(redacted(body[1]))
    # When it was published: the age of a queue's oldest message is read from it (workers/backlog.py).
    # Always this publish's time: a retry re-sends its request's headers, the first publish's included.
    headers["published_at"] = time.time()
    # A task published while another runs (or from a request) carries that request id on: one
    # grep follows a webhook through every task it causes.
    if "request_id" not in headers:
        request_id = structlog.contextvars.get_contextvars().get("request_id")
        if request_id:
            headers["request_id"] = request_id
