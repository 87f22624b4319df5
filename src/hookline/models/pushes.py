"""Pushes back to the CRM: one row per change to send (a dunning tag, a recording's note), sent once."""

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hookline.models.base import Base, tenant_column, utcnow_column


class CrmPush(Base):
    """`key` names the change (`dunning:{invoice}:suspended`, `recording:{id}`): recorded once, so a
    repeated trigger or a rerun task never sends it twice. `state`: pending (a ghl_sync task is
    queued or retrying), done, skipped (no CRM contact, or the tenant's pushes are off), failed
    (the CRM refused: `last_error`)."""

    __tablename__ = "crm_pushes"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = tenant_column(index=False)  # the unique key leads with it
    kind: Mapped[str] = mapped_column(String(32))  # dunning_tag | recording_note
    key: Mapped[str] = mapped_column(String(200))
    subject_id: Mapped[int] = mapped_column(BigInteger)  # billing_customers.id or recordings.id, by kind
    state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    contact_external_id: Mapped[str | None] = mapped_column(String(100))  # the GoHighLevel contact it went to
    result: Mapped[str | None] = mapped_column(String(200))  # tagged, untagged, or the note's id
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = utcnow_column()
    # When its task was last published; the pushes sweep publishes a row still pending long after.
    queued_at: Mapped[datetime] = utcnow_column()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
