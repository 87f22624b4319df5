"""Publishing after the answer: one thread per ingress process with a long-lived Celery producer.

The request commits its inbox row and is answered; the event's task is published here,
in order, in batches, and its rows are stamped `published_at` one UPDATE per tenant per
batch. Nothing committed depends on this thread: a row it never published (broker down,
queue full, process killed) is published by the relay (`maintenance.relay_unpublished`).

On Redis a batch is one round trip: Celery makes each message (`create_task_message`,
`send_task_message`, as `send_task` does) and kombu's Redis channel wraps it as always, but
kombu's `Producer.batch()` holds the LPUSHes and sends them in one pipeline. Elsewhere
(RabbitMQ, or a kombu without batches) each task goes out with `send_task`, a round trip each.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from celery.utils import uuid

from hookline.db import tenant_session
from hookline.ingress.metrics import PUBLISH_FAILURES, PUBLISH_PENDING
from hookline.services import inbox
from hookline.workers.fairness import Lanes, lane
from hookline.workers.tenancy import tenant_headers

if TYPE_CHECKING:
    from celery import Celery
    from kombu import Producer

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Job:
    task: str
    tenant_id: int
    event_id: int
    provider: str
    request_id: str | None = None  # the webhook's, so the worker's log lines carry it too

    @property
    def kwargs(self) -> dict[str, int]:
        return {"tenant_id": self.tenant_id, "event_id": self.event_id}

    @property
    def headers(self) -> dict[str, object]:
        return tenant_headers(self.tenant_id, {"request_id": self.request_id} if self.request_id else None)


def sends_batches(producer: Producer) -> bool:
    """Whether this producer's transport sends a batch in one round trip (Redis, kombu >= 5.7)."""
    return bool(getattr(producer, "supports_batch_publish", False))


def registered_options(app: Celery, name: str) -> dict[str, Any]:
    """The execution options of task `name` if it is registered here (without finalizing the app)."""
    task = app._tasks.get(name)  # noqa: SLF001 - send_task looks here too; app.tasks would import every task module
    if task is None or not hasattr(task, "_get_exec_options"):
        return {}
    return {key: value for key, value in task._get_exec_options().items() if value is not None}


def publish_batch(app: Celery, producer: Producer, jobs: Sequence[Job], bulk: Collection[int] = ()) -> None:
    """Publish every job's task in one Redis pipeline, or raise (then which ones went out is unknown).

    Each step is the one `app.send_task` takes, minus its per-message costs: a producer taken
    from the pool, a result object, and a round trip. Task modules are not imported in the
    ingress, so `send_task` has no task options to merge here either: routing is the router's,
    except that the tenants in `bulk` go to their queue's bulk lane (workers/fairness.py).
    """
    declared: set[str | None] = set()
    with producer.batch(max_size=len(jobs)):
        for job in jobs:
            # As send_task does: a task registered in this process lends its execution options
            # (e.g. its time limits); routing comes after.
            options: dict[str, Any] = {**registered_options(app, job.task), "headers": job.headers,
                                       **lane(job.task, job.tenant_id in bulk)}
            limits = {name: options.pop(name, None) for name in ("time_limit", "soft_time_limit", "expires")}
            options.pop("ignore_result", None)
            options = app.amqp.router.route(options, job.task, None, job.kwargs)
            message = app.amqp.create_task_message(  # with the arguments send_task gives it
                uuid(), job.task, None, job.kwargs, reply_to=app.thread_oid, ignore_result=None,
                create_sent_event=app.conf.task_send_sent_event, **limits, **options)
            # Declaring is remembered per channel, but asking costs ~50 µs (kombu rebinds the
            # queue every time), half of a message's cost: once per queue per batch is enough.
            queue_name = getattr(options.get("queue"), "name", None)
            if queue_name in declared:
                options["declare"] = []
            declared.add(queue_name)
            app.amqp.send_task_message(producer, job.task, message, retry=False, **options)


class Publisher:
    def __init__(self, *, capacity: int = 10_000, batch: int = 200, linger_seconds: float = 0.02,
                 backoff_seconds: float = 1.0, lanes: Lanes | None = None) -> None:
        self._jobs: queue.Queue[Job | None] = queue.Queue(maxsize=capacity)
        self.batch, self.linger_seconds, self.backoff_seconds = batch, linger_seconds, backoff_seconds
        self._thread: threading.Thread | None = None
        self._batched: bool | None = None
        self.lanes = lanes

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="hookline-publisher", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Publish what is queued (up to `timeout`), then stop; the relay has the rest."""
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join(timeout)
            self._thread = None

    def submit(self, job: Job) -> None:
        """Queue a committed event for publishing; never blocks the request."""
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            self._gave_up([job], "publisher queue full")
        else:
            PUBLISH_PENDING.inc()

    def _run(self) -> None:
        from hookline.workers.app import app

        running = True
        while running:
            jobs = [self._jobs.get()]
            if jobs[0] is not None and self._jobs.qsize() < self.batch - 1:
                # Let a batch gather. Its round trip and its UPDATE per tenant cost as much as several
                # jobs; without the wait, batches stayed at ~4 jobs at 400 requests/s (~29 with it).
                time.sleep(self.linger_seconds)
            while len(jobs) < self.batch:
                try:
                    jobs.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            if None in jobs:
                jobs, running = [job for job in jobs if job is not None], False
            if jobs:
                try:
                    self._publish(app, jobs)
                finally:
                    PUBLISH_PENDING.dec(len(jobs))

    def _publish(self, app: Celery, jobs: list[Job]) -> None:
        published: list[Job] = []
        bulk = self.lanes.hot(Counter(job.tenant_id for job in jobs)) if self.lanes else set()
        try:
            with app.producer_or_acquire() as producer:
                if self._in_batches(producer):
                    publish_batch(app, producer, jobs, bulk)
                    published = jobs
                else:
                    for job in jobs:
                        app.send_task(job.task, kwargs=job.kwargs, headers=job.headers,
                                      producer=producer, retry=False, **lane(job.task, job.tenant_id in bulk))
                        published.append(job)
        except Exception as exc:  # broker unreachable: the rest of the batch is the relay's
            self._gave_up(jobs[len(published):], repr(exc))
            time.sleep(self.backoff_seconds)
        self._stamp(published)

    def _in_batches(self, producer: Producer) -> bool:
        if self._batched is None:
            self._batched = sends_batches(producer)
            log.info("ingress.publisher.mode", batched=self._batched)
        return self._batched

    def _stamp(self, published: list[Job]) -> None:
        by_tenant: dict[int, list[int]] = defaultdict(list)
        for job in published:
            by_tenant[job.tenant_id].append(job.event_id)
        for tenant_id, event_ids in by_tenant.items():
            try:
                with tenant_session(tenant_id) as session:
                    inbox.mark_published(session, tenant_id, *event_ids)
            except Exception as exc:  # published but not stamped: the relay may publish again (handlers are idempotent)
                log.warning("ingress.publish_stamp_failed", tenant_id=tenant_id, count=len(event_ids), error=repr(exc))

    def _gave_up(self, jobs: list[Job], error: str) -> None:
        for job in jobs:
            PUBLISH_FAILURES.labels(job.provider).inc()
        if jobs:
            log.warning("ingress.publish_failed", count=len(jobs), event_ids=[job.event_id for job in jobs][:20],
                        error=error)
