"""The one way a task handles inbox events: take → skip → apply → mark failed; one event or a batch.

`run_one`: take the event (claim and mark processed, `inbox.take`), skip it when it is not
pending (processed already, or a twin delivery holds it), apply it in the same transaction, and on
an error that retrying cannot fix mark it `failed` for an operator. `run_many` does the same for
many events of one tenant in one transaction: one statement takes them all, the handler applies
them set-based, and a bad event fails alone (the rest of its batch commits). Transient errors
(PostgreSQL away, a rate limit) roll the whole transaction back: the task's retry finds every
event pending again.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import structlog
from sqlalchemy.orm import Session

from hookline.db import tenant_session
from hookline.services import dead_letters, inbox
from hookline.workers.metrics import BATCH_EVENTS
from hookline.workers.retry import is_transient

log = structlog.get_logger(__name__)

R = TypeVar("R")
P = TypeVar("P")


@dataclass(frozen=True)
class InboxHandler(Generic[R]):
    """How one task handles its events."""

    name: str  # its log lines' prefix: "<name>.skipped", "<name>.failed"
    apply: Callable[[Session, int, inbox.Taken], R]  # inside the take's transaction
    permanent: tuple[type[Exception], ...]  # errors retrying cannot fix: the event is marked failed
    reason: Callable[[Exception], str]  # what the failed row says (it may quote the body: never logged)
    redone_from_inbox: bool = False  # the commit need not wait for its WAL flush (db.tenant_session)


def run_one(handler: InboxHandler[R], tenant_id: int, event_id: int, *,
            around: AbstractContextManager[Any] | None = None) -> R | None:
    """Handle one event; what `apply` returned, or None when it was skipped or failed.

    `around` wraps the transaction (a task's `api_retries`).
    """
    try:
        with around or nullcontext(), tenant_session(tenant_id, redone_from_inbox=handler.redone_from_inbox) as session:
            event = inbox.take(session, tenant_id, event_id)  # marked processed if the change commits
            if event is None:  # already processed, or a twin delivery holds it: at-least-once
                log.info(f"{handler.name}.skipped", event_id=event_id)
                return None
            return handler.apply(session, tenant_id, event)
    except handler.permanent as exc:
        with tenant_session(tenant_id) as session:
            inbox.mark_failed(session, tenant_id, event_id, handler.reason(exc))
        log.error(f"{handler.name}.failed", event_id=event_id, error=type(exc).__name__)
        return None


@dataclass(frozen=True)
class BatchHandler(Generic[P]):
    """How one task handles a batch: each event made ready alone, then all of them applied at once."""

    name: str
    task: str  # the one-event task a dead letter of a single bad event names (replay runs it)
    prepare: Callable[[inbox.Taken], P]  # no database: parse, validate
    apply_many: Callable[[Session, int, list[P]], int]  # set-based; the rows written
    permanent: tuple[type[Exception], ...]
    reason: Callable[[Exception], str]


@dataclass
class Batch:
    """What became of a batch's events (its log line says the same)."""

    taken: int = 0
    written: int = 0
    skipped: list[int] = field(default_factory=list)  # not pending: processed already, or a twin holds them
    failed: list[int] = field(default_factory=list)


def run_many(handler: BatchHandler[P], tenant_id: int, event_ids: list[int], *, task_id: str = "") -> Batch:
    """Handle many events of one tenant in one transaction, as `run_one` handles each.

    The batch is applied in a savepoint; if an event in it fails, the savepoint is rolled back and
    each event is applied in its own, so only the bad one is marked failed. One that fails with an
    error the handler does not expect (a bug, a value its column refuses) also gets a dead letter
    of its own, naming the one-event task, so an operator can replay it alone.
    """
    outcome = Batch()
    failed: dict[int, str] = {}  # event id → the reason its row keeps
    with tenant_session(tenant_id, redone_from_inbox=True) as session:
        events = inbox.take_many(session, tenant_id, event_ids)
        taken = {event.id for event in events}
        outcome.taken, outcome.skipped = len(events), [event_id for event_id in event_ids if event_id not in taken]
        ready: list[tuple[int, P]] = []
        for event in events:
            try:
                ready.append((event.id, handler.prepare(event)))
            except handler.permanent as exc:
                failed[event.id] = handler.reason(exc)
        try:
            with session.begin_nested():
                outcome.written = handler.apply_many(session, tenant_id, [item for _, item in ready])
            unexpected: dict[int, Exception] = {}
        except Exception as exc:
            if is_transient(exc):
                raise
            outcome.written, unexpected = _one_by_one(session, handler, tenant_id, ready, failed)
        for event_id, reason in failed.items():
            inbox.mark_failed(session, tenant_id, event_id, reason)
        for event_id in unexpected:
            dead_letters.record(session, tenant_id, task=handler.task, task_id=f"{task_id}:{event_id}",
                                kwargs={"tenant_id": tenant_id, "event_id": event_id}, reason="permanent",
                                error=failed[event_id])
    outcome.failed = sorted(failed)
    counted = {"applied": outcome.taken - len(failed), "skipped": len(outcome.skipped), "failed": len(failed)}
    for kind, count in counted.items():
        if count:
            BATCH_EVENTS.labels(handler.task, kind).inc(count)
    if failed:
        log.error(f"{handler.name}.failed", event_ids=outcome.failed,
                  errors=sorted({type(exc).__name__ for exc in unexpected.values()}))
    log.info(f"{handler.name}.batch", event_ids=event_ids, taken=outcome.taken, written=outcome.written,
             skipped=outcome.skipped, failed=outcome.failed)
    return outcome


def _one_by_one(session: Session, handler: BatchHandler[P], tenant_id: int, ready: list[tuple[int, P]],
                failed: dict[int, str]) -> tuple[int, dict[int, Exception]]:
    """Each event in a savepoint of its own; the rows written, and the errors the handler did not expect.
    The reason of each event that failed goes into `failed`."""
    written, unexpected = 0, {}
    for event_id, item in ready:
        try:
            with session.begin_nested():
                written += handler.apply_many(session, tenant_id, [item])
        except Exception as exc:
            if is_transient(exc):
                raise
            if isinstance(exc, handler.permanent):
                failed[event_id] = handler.reason(exc)
            else:
                failed[event_id], unexpected[event_id] = f"{type(exc).__name__}: {exc}", exc
    return written, unexpected
