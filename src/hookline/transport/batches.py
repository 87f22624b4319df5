"""Batches: many inbox events of one tenant and one handler in one task message (docs/decisions.md (Batches)).

A task message costs a worker ~3 ms in Celery whatever it does; a batch pays that once for up to
HOOKLINE_BATCH_SIZE events, which the batch task takes in one statement and applies in one
transaction (tasks/inbox_task.run_many). Only handlers that touch nothing but the database batch:
a task that calls an API or streams a file per event keeps one event per message.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hookline.transport.publisher import Job

# A one-event task → the task that takes a batch of its events (`event_ids`).
BATCH_TASKS = {"hookline.tasks.ghl_sync.apply_event": "hookline.tasks.ghl_sync.apply_events"}


def batch_task(task: str) -> str | None:
    """The task that takes many of `task`'s events at once; None when `task` does not batch."""
    return BATCH_TASKS.get(task)


def chunks(event_ids: Iterable[int], size: int) -> Iterator[list[int]]:
    """`event_ids` in order, `size` at a time."""
    chunk: list[int] = []
    for event_id in event_ids:
        chunk.append(event_id)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def messages(task: str, event_ids: list[int], size: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """One tenant's events of `task`, in order, as task messages: (task, keyword arguments besides
    the tenant), up to `size` events each when `task` batches (the relay and the sweeper publish so)."""
    batched = batch_task(task)
    if batched is None or size <= 1:
        for event_id in event_ids:
            yield task, {"event_id": event_id}
        return
    for chunk in chunks(event_ids, size):
        yield (batched, {"event_ids": chunk}) if len(chunk) > 1 else (task, {"event_id": chunk[0]})


def group(jobs: Sequence[Job], size: int, *, bulk: Collection[int] = (), bulk_size: int | None = None) -> list[Job]:
    """`jobs` with each tenant's events of one batching task gathered into jobs of up to `size` events
    (`bulk_size` for the tenants in `bulk`, whose messages go to a bulk lane), as the batch task's
    (with `event_ids`), placed where their first event was; other jobs as they are.

    A batch carries the trace of its first event; the request ids stay in the ingress's log lines.
    """
    if size <= 1 and (bulk_size or 1) <= 1:
        return list(jobs)
    grouped: list[Job | list[Job]] = []
    open_batches: dict[tuple[int, str], list[Job]] = {}
    for job in jobs:
        task = batch_task(job.task)
        if task is None:
            grouped.append(job)
            continue
        batch = open_batches.get((job.tenant_id, task))
        if batch is None or len(batch) >= ((bulk_size or size) if job.tenant_id in bulk else size):
            batch = open_batches[(job.tenant_id, task)] = []
            grouped.append(batch)
        batch.append(job)
    return [item if not isinstance(item, list) else _batch_of(item) for item in grouped]


class Held:
    """A hot tenant's jobs of a batching task, held back from the publisher's round they came in
    until they fill a bulk message (`size` events) or the oldest has waited `wait` seconds.

    A flood's events then go out in full bulk messages, each one task run of a worker (~3 ms of
    Celery's whatever it carries, a transaction, a task_runs row), not one per linger's worth: at
    1,200 webhooks/s a 20 ms linger gathers ~24 events (docs/decisions.md has the bench lines).
    Only a tenant already on its bulk lane waits longer, and by at most `wait`.
    """

    def __init__(self, size: int, wait: float) -> None:
        self.size, self.wait = size, wait
        self._held: dict[tuple[int, str], list[tuple[float, Job]]] = {}  # (tenant, batch task) → (queued, job)
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def due_at(self) -> float | None:
        """When the oldest held job has waited `wait` (the clock of `take`'s `now`); None: nothing is held."""
        return min((held[0][0] + self.wait for held in self._held.values()), default=None)

    def take(self, fresh: Iterable[tuple[float, Job]], hot: Collection[int], now: float, *,
             everything: bool = False) -> tuple[list[Job], set[int]]:
        """The jobs to send now: those of `fresh` ((queued, job), in order) it does not hold, then each
        held group that is full or due (every one when `everything`); and the tenants it released."""
        jobs: list[Job] = []
        for queued, job in fresh:
            task = batch_task(job.task)
            if self.wait > 0 and task is not None and job.tenant_id in hot:
                self._held.setdefault((job.tenant_id, task), []).append((queued, job))
                self._count += 1
            else:
                jobs.append(job)
        released: set[int] = set()
        for key, held in list(self._held.items()):
            if everything or len(held) >= self.size or now >= held[0][0] + self.wait:  # as due_at() reckons
                jobs.extend(job for _, job in held)
                released.add(key[0])
                self._count -= len(held)
                del self._held[key]
        return jobs, released


def _batch_of(jobs: list[Job]) -> Job:
    first = jobs[0]
    if len(jobs) == 1:
        return first
    return replace(first, task=batch_task(first.task) or first.task, event_ids=tuple(job.event_id for job in jobs),
                   request_id=None)
