"""Appointments and the calendars they are booked in."""

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hookline.models.base import Base, SyncedRecord, provider_key


class Calendar(SyncedRecord, Base):
    """Made when an appointment first names it; webhooks carry only its id."""

    __tablename__ = "calendars"
    __table_args__ = (provider_key(),)

    name: Mapped[str | None] = mapped_column(String(200))


class Appointment(SyncedRecord, Base):
    __tablename__ = "appointments"
    __table_args__ = (provider_key(),)

    calendar_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("calendars.id", ondelete="SET NULL"))
    contact_external_id: Mapped[str | None] = mapped_column(String(100), index=True)
    title: Mapped[str | None] = mapped_column(String(400))
    # GoHighLevel: new, confirmed, cancelled, showed, noshow, invalid
    status: Mapped[str | None] = mapped_column(String(32))
    assigned_user_id: Mapped[str | None] = mapped_column(String(100))
    users: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    address: Mapped[str | None] = mapped_column(String(500))
    notes: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(200))
    group_id: Mapped[str | None] = mapped_column(String(100))
    start_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    date_added: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
