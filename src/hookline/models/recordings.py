"""Call and meeting recordings: where each came from and where its bytes are stored."""

import enum
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from hookline.models.base import Base, tenant_column, utcnow_column


class RecordingStatus(str, enum.Enum):
    PENDING = "pending"  # registered; an upload task is queued (or waiting to retry)
    UPLOADING = "uploading"  # a worker is streaming it (or died doing so: the redelivery starts over)
    STORED = "stored"  # the object under object_key is complete and its SHA-256 checked
    FAILED = "failed"  # for good (the source refused, retries ran out): see last_error


class Recording(Base):
    __tablename__ = "recordings"
    # A redelivered webhook names the same file again: one row per tenant, source and file id.
    __table_args__ = (UniqueConstraint("tenant_id", "source", "external_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = tenant_column()
    source: Mapped[str] = mapped_column(String(32))  # zoom, zoom_phone, ghl
    external_id: Mapped[str] = mapped_column(String(200))
    parent_external_id: Mapped[str | None] = mapped_column(String(200))  # meeting, call or message
    source_url: Mapped[str] = mapped_column(Text)
    # Zoom's 24-hour download_token (a secret): kept only until the upload ends either way.
    source_token: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=RecordingStatus.PENDING.value, index=True)
    object_key: Mapped[str] = mapped_column(String(500))
    extension: Mapped[str] = mapped_column(String(8))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    content_type: Mapped[str | None] = mapped_column(String(200))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    recorded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    contact_external_id: Mapped[str | None] = mapped_column(String(100))
    appointment_external_id: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = utcnow_column()
    stored_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The last time anything happened to it (registered, upload started, retry set, published again):
    # the recordings sweep publishes again a pending or uploading row idle too long.
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())
