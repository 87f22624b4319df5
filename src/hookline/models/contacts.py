"""CRM contacts, keyed per tenant by the provider's contact id."""

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hookline.models.base import Base, SyncedRecord, provider_key


class Contact(SyncedRecord, Base):
    __tablename__ = "contacts"
    __table_args__ = (
        provider_key(),
        # Reports find a day's leads by range on date_added, else created_at (migration 0011).
        Index("ix_contacts_tenant_id_date_added", "tenant_id", "date_added"),
        Index("ix_contacts_tenant_id_created_at_undated", "tenant_id", "created_at",
              postgresql_where=text("date_added IS NULL")),
    )

    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(50))
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(400))
    company_name: Mapped[str | None] = mapped_column(String(400))
    source: Mapped[str | None] = mapped_column(String(200))
    address1: Mapped[str | None] = mapped_column(String(400))
    city: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(50))
    country: Mapped[str | None] = mapped_column(String(100))
    website: Mapped[str | None] = mapped_column(String(500))
    dnd: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # Per channel (SMS, Call, Email, …): {"status": "active"|"inactive", "message", "code"}.
    dnd_settings: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    assigned_to: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    custom_fields: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default="[]")
    date_added: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
