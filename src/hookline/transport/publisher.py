"""Publishing after the answer: a task in the ingress's event loop, in batches.

The request commits its inbox row and is answered; the event's task is published here, in
order, in batches. Nothing committed depends on this: a row it never published (broker down,
queue full, process killed) is published by the relay (`maintenance.relay_unpublished`).

On Redis (the default broker) a batch is one MULTI/EXEC round trip on an asyncio client: the
LPUSHes of its messages, made by `transport.messages.TaskMessages` from a prototype Celery made
at a few µs each, and the events' published bits (transport/published.py), which are the record
the relay reads; PostgreSQL is not written. Elsewhere (RabbitMQ) each task goes out with
Celery's `send_task` in a worker thread, and the sender then stamps the batch's rows
`published_at`, one statement per tenant (`hookline_mark_published`, migration 0018: by primary
key, without waiting for the WAL flush). Either way each sender records what it published.

It used to be a thread on Redis too: a thread busy making messages held the GIL against the
event loop (every socket call of a request waited for it), which with Celery's ~140 µs per
message cost more than half of the ingress's throughput (bench/README.md).
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable, Collection, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import structlog
from redis import asyncio as aioredis

from hookline.ingress.metrics import PUBLISH_BATCH_JOBS, PUBLISH_FAILURES, PUBLISH_PENDING
from hookline.transport import batches
from hookline.transport.headers import tenant_headers
from hookline.transport.lanes import Lanes, lane
from hookline.transport.messages import TaskMessages, queue_batch

if TYPE_CHECKING:
    from celery import Celery

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Job:
    task: str
    tenant_id: int
    event_id: int
    provider: str
    request_id: str | None = None  # the webhook's, so the worker's log lines carry it too
    trace: tuple[tuple[str, str], ...] = ()  # `traceparent` (…) of the request's span, when tracing is on
    event_ids: tuple[int, ...] = ()  # a batch's events (transport/batches.py); `event_id` is the first

    @property
    def kwargs(self) -> dict[str, object]:
        if self.event_ids:
            return {"tenant_id": self.tenant_id, "event_ids": list(self.event_ids)}
        return {"tenant_id": self.tenant_id, "event_id": self.event_id}

    @property
    def events(self) -> tuple[int, ...]:
        """Every inbox event this job's message carries."""
        return self.event_ids or (self.event_id,)

    @property
    def headers(self) -> dict[str, object]:
        extra = {"request_id": self.request_id} if self.request_id else None
        if self.trace:
            extra = {**(extra or {}), **dict(self.trace)}
        return tenant_headers(self.tenant_id, extra)


class Sender(Protocol):
    name: str

    async def send(self, jobs: Sequence[Job], bulk: Collection[int]) -> None:
        """Publish every job's task and record that it did (for the relay), or raise (then which
        ones went out is unknown)."""


class RedisSender:
    """One pipelined round trip per batch on an asyncio Redis client; messages from TaskMessages."""

    name = "redis"

    def __init__(self, client: aioredis.Redis, messages: TaskMessages) -> None:
        self.client, self.messages = client, messages

    async def send(self, jobs: Sequence[Job], bulk: Collection[int]) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            queue_batch(pipe, self.messages, jobs, bulk)
            await pipe.execute()


Stamp = Callable[[int, list[int]], Awaitable[None]]


class CelerySender:
    """Any other broker: Celery's `send_task` per message, in a worker thread; then `stamp`
    (the rows' `published_at`, per tenant) of what went out."""

    name = "celery"

    def __init__(self, app: Celery, stamp: Stamp) -> None:
        self.app, self.stamp = app, stamp

    async def send(self, jobs: Sequence[Job], bulk: Collection[int]) -> None:
        await asyncio.to_thread(self._send, jobs, bulk)
        by_tenant: dict[int, list[int]] = defaultdict(list)
        for job in jobs:
            by_tenant[job.tenant_id].extend(job.events)
        for tenant_id, event_ids in by_tenant.items():
            try:
                await self.stamp(tenant_id, event_ids)
            except Exception as exc:  # noqa: BLE001 - published but not stamped: the relay may publish again (handlers are idempotent)
                log.warning("ingress.publish_stamp_failed", tenant_id=tenant_id, count=len(event_ids), error=repr(exc))

    def _send(self, jobs: Sequence[Job], bulk: Collection[int]) -> None:
        with self.app.producer_or_acquire() as producer:
            for job in jobs:
                self.app.send_task(job.task, kwargs=job.kwargs, headers=job.headers, producer=producer, retry=False,
                                   **lane(job.task, job.tenant_id in bulk))


class Publisher:
    def __init__(self, sender: Sender, *, capacity: int = 10_000, batch: int = 200,
                 linger_seconds: float = 0.02, backoff_seconds: float = 1.0, lanes: Lanes | None = None,
                 events_per_task: int = 1, bulk_events_per_task: int | None = None,
                 bulk_linger_seconds: float = 0.0) -> None:
        self.sender, self.lanes = sender, lanes
        # A tenant's events of one handler per message, on the main and on a bulk lane (transport/batches.py).
        self.events_per_task, self.bulk_events_per_task = events_per_task, bulk_events_per_task
        self.capacity, self.batch = capacity, batch
        self.linger_seconds, self.backoff_seconds = linger_seconds, backoff_seconds
        self._jobs: deque[tuple[float, Job]] = deque()  # (when it was queued, on the loop's clock; the job)
        # A hot tenant's batching jobs, kept back until they fill a bulk message or have waited
        # `bulk_linger_seconds` (batches.Held).
        self._held = batches.Held(bulk_events_per_task or events_per_task, bulk_linger_seconds)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.get_running_loop().create_task(self._run(), name="hookline-publisher")
            log.info("ingress.publisher.mode", sender=self.sender.name)

    async def stop(self, timeout: float = 10.0) -> None:
        """Publish what is queued (up to `timeout`), then stop; the relay has the rest."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(self._task, timeout)
        except TimeoutError:
            log.warning("ingress.publisher.stop_timeout", left=len(self._jobs))
        self._task = None

    def submit(self, job: Job) -> None:
        """Queue a committed event for publishing; never blocks the request."""
        if len(self._jobs) + len(self._held) >= self.capacity:
            self._gave_up([job], "publisher queue full")
            return
        self._jobs.append((asyncio.get_running_loop().time(), job))
        PUBLISH_PENDING.inc()
        self._wake.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._jobs:
                if self._stopping and not self._held:
                    return
                self._wake.clear()
                due = self._held.due_at()
                if due is None:
                    await self._wake.wait()
                elif due > loop.time() and not self._stopping:
                    with suppress(TimeoutError):  # woken by the held jobs' time, not by a new job
                        await asyncio.wait_for(self._wake.wait(), due - loop.time())
            if self._jobs and len(self._jobs) < self.batch and not self._stopping:
                # Let a batch gather until its oldest job has waited `linger_seconds`, also when jobs
                # came in during the last publish: a batch's round trips (its lanes, its MULTI) cost
                # the event loop as much as many jobs. Publishing those at once meant a batch per
                # round trip's worth of arrivals, ~9% more of the loop's CPU at 1,000 webhooks/s
                # (bench/README.md). Counting from the oldest job, not from the last publish, keeps
                # a job's wait at the linger while a flood keeps the loop busy (bench/fairness.py).
                oldest, _ = self._jobs[0]
                await asyncio.sleep(max(0.0, oldest + self.linger_seconds - loop.time()))
            fresh = [self._jobs.popleft() for _ in range(min(self.batch, len(self._jobs)))]
            await self._publish(fresh)

    async def _publish(self, fresh: list[tuple[float, Job]]) -> None:
        """Send `fresh` (this round's jobs, with when each was queued) but a hot tenant's batching
        jobs, which are held (batches.Held), together with the held jobs that are due."""
        counting = None
        bulk: set[int] = set()
        if self.lanes and fresh:
            # Count this batch while it goes out, routed by the last answers: a batch costs the
            # event loop one round trip's wait instead of two (Lanes.known_hot).
            counts = Counter(job.tenant_id for _, job in fresh)
            bulk = self.lanes.known_hot(counts)
            counting = asyncio.ensure_future(self.lanes.hot_async(counts))
        jobs, released = self._held.take(fresh, bulk, asyncio.get_running_loop().time(), everything=self._stopping)
        bulk |= released
        try:
            try:
                if jobs:
                    await self.sender.send(batches.group(jobs, self.events_per_task, bulk=bulk,
                                                         bulk_size=self.bulk_events_per_task), bulk)
                    PUBLISH_BATCH_JOBS.observe(len(jobs))
            finally:
                if counting is not None:
                    await counting  # it logs and swallows a Redis failure itself
        except Exception as exc:  # noqa: BLE001 - broker unreachable (or any other failure): the batch is the relay's
            self._gave_up(jobs, repr(exc))
            if not self._stopping:
                await asyncio.sleep(self.backoff_seconds)
        finally:
            PUBLISH_PENDING.dec(len(jobs))

    def _gave_up(self, jobs: list[Job], error: str) -> None:
        for job in jobs:
            PUBLISH_FAILURES.labels(job.provider).inc()
        if jobs:
            log.warning("ingress.publish_failed", count=len(jobs), event_ids=[job.event_id for job in jobs][:20],
                        error=error)
