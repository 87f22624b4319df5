"""Dead letters: tasks that failed for good, kept with their error until an operator acts."""

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hookline.models.base import Base, tenant_column, utcnow_column


class DeadLetterStatus(str, enum.Enum):
    DEAD = "dead"  # waiting for an operator
    REPLAYED = "replayed"  # published again (a new task id; if it fails again, a new row)
    DISCARDED = "discarded"  # an operator decided it needs no further work


class DeadLetter(Base):
    __tablename__ = "dead_letters"
    __table_args__ = (UniqueConstraint("tenant_id", "task_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = tenant_column()
    task: Mapped[str] = mapped_column(String(200))
    task_id: Mapped[str] = mapped_column(String(64))
    # The keyword arguments, values of secret-looking keys masked (workers/tenancy.redacted).
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSONB)
    reason: Mapped[str] = mapped_column(String(32))  # retries_exhausted, permanent, invalid_arguments, time_limit, poison
    error: Mapped[str] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    status: Mapped[str] = mapped_column(String(16), default=DeadLetterStatus.DEAD.value, index=True)
    first_failed_at: Mapped[datetime] = utcnow_column()
    last_failed_at: Mapped[datetime] = utcnow_column()
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
