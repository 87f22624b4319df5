"""What people write and plan about a contact in the CRM: notes and (CRM) tasks."""

from datetime import datetime

from sqlalchemy import Boolean, DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hookline.models.base import Base, SyncedRecord, provider_key


class Note(SyncedRecord, Base):
    __tablename__ = "notes"
    __table_args__ = (provider_key(),)

    contact_external_id: Mapped[str | None] = mapped_column(String(100), index=True)
    body: Mapped[str | None] = mapped_column(Text)
    date_added: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CrmTask(SyncedRecord, Base):
    """A to-do in the CRM (GoHighLevel TaskCreate…), not a Celery task."""

    __tablename__ = "crm_tasks"
    __table_args__ = (provider_key(),)

    contact_external_id: Mapped[str | None] = mapped_column(String(100), index=True)
    title: Mapped[str | None] = mapped_column(String(400))
    body: Mapped[str | None] = mapped_column(Text)
    assigned_to: Mapped[str | None] = mapped_column(String(100))
    due_date: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    date_added: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
