"""Task-run history (rows are written by the workers' signals, workers/taskruns.py): read and prune."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hookline.models import TaskRun


def prune(session: Session, tenant_id: int, *, before: datetime, limit: int = 10_000) -> int:
    """Delete up to `limit` of the tenant's runs started before `before`; how many went."""
    oldest = (select(TaskRun.id).where(TaskRun.tenant_id == tenant_id, TaskRun.started_at < before)
              .limit(limit).scalar_subquery())
    result = session.execute(delete(TaskRun).where(TaskRun.tenant_id == tenant_id, TaskRun.id.in_(oldest)))
    return result.rowcount  # type: ignore[attr-defined]  # a DML statement's Result is a CursorResult


def recent(session: Session, tenant_id: int, *, limit: int = 50) -> list[TaskRun]:
    """The tenant's newest runs first."""
    statement = (select(TaskRun).where(TaskRun.tenant_id == tenant_id)
                 .order_by(TaskRun.started_at.desc(), TaskRun.id.desc()).limit(limit))
    return list(session.scalars(statement))
