"""The email outbox: a message recorded in the caller's transaction, sent at most once by a task."""

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hookline.models.base import Base, tenant_column, utcnow_column


class EmailStatus(str, enum.Enum):
    QUEUED = "queued"  # recorded; a task will send it
    SENDING = "sending"  # a task holds it; a crash here is resolved by the sweeper, never a second send
    SENT = "sent"
    FAILED = "failed"  # permanent: a provider's 4xx, or retries used up
    BOUNCED = "bounced"


class EmailMessage(Base):
    __tablename__ = "email_outbox"
    __table_args__ = (UniqueConstraint("tenant_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = tenant_column()
    template: Mapped[str] = mapped_column(String(100))
    recipient: Mapped[str] = mapped_column(String(320))
    context: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    idempotency_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=EmailStatus.QUEUED.value, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = utcnow_column()
    # When the next send may run: now for a new message, later for a retry or a rate-limited one.
    # The sweeper publishes a `queued` message again once this is long past (its task was lost).
    due_at: Mapped[datetime] = utcnow_column()
    updated_at: Mapped[datetime] = utcnow_column()
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
