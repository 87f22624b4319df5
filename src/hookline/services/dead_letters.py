"""Dead letters: record a task that failed for good, list and resolve them, one tenant at a time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from hookline.models import DeadLetter, DeadLetterStatus
from hookline.services import inbox

MAX_ERROR = 2000
MAX_TRACEBACK = 20_000


def record(session: Session, tenant_id: int, *, task: str, task_id: str, kwargs: dict[str, Any], reason: str,
           error: str, traceback: str | None = None) -> DeadLetter:
    """Insert the dead letter, or count one more failure of the same task id; safe to run twice.

    `kwargs` must already be redacted. When the task worked on inbox events (`event_id`, or a
    batch's `event_ids`), each still-pending one is marked failed with the same error, so the
    sweeper does not publish it again and again; replaying the dead letter sets it back to pending.
    """
    values = {"tenant_id": tenant_id, "task": task, "task_id": task_id, "kwargs": kwargs, "reason": reason,
              "error": error[:MAX_ERROR], "traceback": traceback[-MAX_TRACEBACK:] if traceback else None,
              "status": DeadLetterStatus.DEAD.value}
    statement = insert(DeadLetter).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[DeadLetter.tenant_id, DeadLetter.task_id],
        set_={"reason": statement.excluded.reason, "error": statement.excluded.error,
              "traceback": statement.excluded.traceback, "status": DeadLetterStatus.DEAD.value,
              "attempts": DeadLetter.attempts + 1, "last_failed_at": func.now(), "resolved_at": None},
    )
    letter = session.scalars(statement.returning(DeadLetter)).one()
    for event_id in event_ids(kwargs):
        inbox.mark_failed(session, tenant_id, event_id, f"{task}: {error}", only_pending=True)
    return letter


def event_ids(kwargs: dict[str, Any]) -> list[int]:
    """The inbox events a task's arguments name: its `event_id`, or a batch's `event_ids`."""
    batch = kwargs.get("event_ids")
    ids = [kwargs.get("event_id"), *(batch if isinstance(batch, list) else [])]
    return [event_id for event_id in ids if isinstance(event_id, int) and not isinstance(event_id, bool)]


def recent(session: Session, tenant_id: int, *, status: str | None = None, limit: int = 50) -> list[DeadLetter]:
    """The tenant's dead letters, the most recently failed first."""
    statement = select(DeadLetter).where(DeadLetter.tenant_id == tenant_id)
    if status is not None:
        statement = statement.where(DeadLetter.status == status)
    return list(session.scalars(statement.order_by(DeadLetter.last_failed_at.desc(), DeadLetter.id.desc())
                                .limit(limit)))


def get(session: Session, tenant_id: int, letter_id: int) -> DeadLetter | None:
    return session.scalars(
        select(DeadLetter).where(DeadLetter.tenant_id == tenant_id, DeadLetter.id == letter_id)
    ).one_or_none()


def resolve(session: Session, tenant_id: int, letter_id: int, status: DeadLetterStatus) -> bool:
    """Mark a dead letter replayed or discarded (or dead again); False when there is no such row."""
    result = session.execute(
        update(DeadLetter)
        .where(DeadLetter.tenant_id == tenant_id, DeadLetter.id == letter_id)
        .values(status=status.value, resolved_at=None if status is DeadLetterStatus.DEAD else func.now())
    )
    return result.rowcount == 1  # type: ignore[attr-defined]  # a DML statement's Result is a CursorResult
