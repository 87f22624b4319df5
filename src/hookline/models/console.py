"""The console's own records: who did what (audit), and bulk replay jobs with their progress."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hookline.models.base import Base, utcnow_column


class AuditEntry(Base):
    """One console action: who, what, when, the filter it applied to, and how many rows it touched."""

    __tablename__ = "console_audit"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"), index=True)
    username: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    filter: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    detail: Mapped[str | None] = mapped_column(Text)


class ReplayJob(Base):
    """A bulk replay of the inbox events matching `filter`, walked in (tenant, event id) order.

    `key` makes a start idempotent (the same form posted twice is one job); `filter_key` lets one
    job run per filter at a time. Events received after the job started (`last_event`) are not
    its business. `cursor_*` is the last event handled, so a restarted console resumes there.
    """

    __tablename__ = "console_replay_jobs"
    __table_args__ = (
        Index("ix_console_replay_jobs_running_filter", "filter_key", unique=True,
              postgresql_where=text("state = 'running'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    filter_key: Mapped[str] = mapped_column(String(64))
    filter: Mapped[dict[str, Any]] = mapped_column(JSONB)
    started_by: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16), default="running", server_default="running")  # finished, cancelled, failed
    total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cursor_tenant: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    cursor_event: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_event: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = utcnow_column()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_by: Mapped[str | None] = mapped_column(String(100))
    error: Mapped[str | None] = mapped_column(Text)
