"""Publishing after the answer: one thread per ingress process with a long-lived Celery producer.

The request commits its inbox row and is answered; the event's task is published here,
in order, in batches, and its rows are stamped `published_at` one UPDATE per tenant per
batch. A publish costs a broker round trip; keeping it off the request path and reusing one
producer (instead of acquiring one per request) is what lets the ingress keep up with its
inserts. Nothing committed depends on this thread: a row it never published (broker down,
queue full, process killed) is published by the relay (`maintenance.relay_unpublished`).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import defaultdict
from dataclasses import dataclass

import structlog

from hookline.db import tenant_session
from hookline.ingress.metrics import PUBLISH_FAILURES, PUBLISH_PENDING
from hookline.services import inbox

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Job:
    task: str
    tenant_id: int
    event_id: int
    provider: str


class Publisher:
    def __init__(self, *, capacity: int = 10_000, batch: int = 200, backoff_seconds: float = 1.0) -> None:
        self._jobs: queue.Queue[Job | None] = queue.Queue(maxsize=capacity)
        self.batch, self.backoff_seconds = batch, backoff_seconds
        self._thread: threading.Thread | None = None

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

    def _publish(self, app, jobs: list[Job]) -> None:
        from hookline.workers.tenancy import tenant_headers

        published: list[Job] = []
        try:
            with app.producer_or_acquire() as producer:
                for job in jobs:
                    app.send_task(job.task, kwargs={"tenant_id": job.tenant_id, "event_id": job.event_id},
                                  headers=tenant_headers(job.tenant_id), producer=producer, retry=False)
                    published.append(job)
        except Exception as exc:  # broker unreachable: the rest of the batch is the relay's
            self._gave_up(jobs[len(published):], repr(exc))
            time.sleep(self.backoff_seconds)
        self._stamp(published)

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
