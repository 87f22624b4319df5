"""The webhook inbox: every accepted delivery, stored before it is acknowledged."""

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hookline.models.base import Base, tenant_column, utcnow_column


class EventStatus(str, enum.Enum):
    PENDING = "pending"  # stored; a task will process it
    PROCESSED = "processed"
    IGNORED = "ignored"  # no handler for this event type; kept for audit
    FAILED = "failed"


class WebhookEvent(Base):
    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "provider", "dedupe_key"),
        Index("ix_webhook_events_tenant_id_received_at", "tenant_id", "received_at"),  # reports (migration 0011)
        # Only the rows the relay, the sweeper and a replay look for (migration 0016): nearly
        # every row is processed, and an index of every row's status cost each one two writes.
        Index("ix_webhook_events_pending", "tenant_id", "id", postgresql_where=text("status = 'pending'")),
        Index("ix_webhook_events_failed", "tenant_id", "received_at", postgresql_where=text("status = 'failed'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = tenant_column(index=False)  # the unique key and the indexes above lead with it
    provider: Mapped[str] = mapped_column(String(32))
    event_type: Mapped[str] = mapped_column(String(100))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16), default=EventStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = utcnow_column()
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
