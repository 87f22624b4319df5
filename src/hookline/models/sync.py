"""Reconciliation progress: one row per tenant, provider and resource (contacts, …)."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hookline.models.base import Base, tenant_column, utcnow_column


class SyncRun(Base):
    """The stored cursor of a resource's reconciliation, and the progress of its current run.

    `cursor` moves in the same transaction as the page it was read after, so a killed worker
    resumes from the last committed page. `state`: idle (caught up), running (a chain of tasks
    is reading pages), failed (stopped on an error an operator must fix; `last_error` says which).
    """

    __tablename__ = "sync_runs"
    __table_args__ = (UniqueConstraint("tenant_id", "provider", "resource"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = tenant_column()
    provider: Mapped[str] = mapped_column(String(32))
    resource: Mapped[str] = mapped_column(String(32))
    cursor: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    state: Mapped[str] = mapped_column(String(16), default="idle", server_default="idle")
    full: Mapped[bool] = mapped_column(default=False, server_default="false")  # this run is a backfill
    pages: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # of this run
    rows: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # of this run
    total: Mapped[int | None] = mapped_column(Integer)  # what the provider said matches, if it says
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cursor_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # last page committed
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = utcnow_column()
