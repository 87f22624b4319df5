"""Task-run history: one row per task run (attempt), written by the worker's signals (workers/taskruns.py)."""

import enum
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from hookline.models.base import Base, utcnow_column


class RunState(str, enum.Enum):
    STARTED = "started"  # still running, or its worker died (the row stays so: look at started_at)
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RETRIED = "retried"  # this attempt ended in a retry; the next attempt is its own row
    REJECTED = "rejected"  # refused without running (tenant header and argument disagree)
    IGNORED = "ignored"  # the task raised Ignore: it chose to do nothing


class TaskRun(Base):
    __tablename__ = "task_runs"
    __table_args__ = (
        Index("ix_task_runs_tenant_id_started_at", "tenant_id", "started_at"),
        # An event's timeline in the console (migration 0022).
        Index("ix_task_runs_tenant_id_event_id", "tenant_id", "event_id", postgresql_where=text("event_id IS NOT NULL")),
        # A batch run's events (migration 0023): "what happened to event N" finds it by `event_ids @> [N]`.
        Index("ix_task_runs_event_ids", "event_ids", postgresql_using="gin", postgresql_where=text("event_ids IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # No index of its own: (tenant_id, started_at) serves every read.
    tenant_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("tenants.id", ondelete="CASCADE"))
    task: Mapped[str] = mapped_column(String(200))
    queue: Mapped[str | None] = mapped_column(String(64))
    task_id: Mapped[str] = mapped_column(String(64), index=True)
    event_id: Mapped[int | None] = mapped_column(BigInteger)
    event_ids: Mapped[list[int] | None] = mapped_column(ARRAY(BigInteger))  # a batch's events; event_id is None
    state: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer, server_default="1")
    request_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = utcnow_column()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    runtime_seconds: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
