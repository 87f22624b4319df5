"""Beat's record: when each schedule entry last ran, and which per-tenant runs were enqueued."""

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from hookline.models.base import Base, utcnow_column


class ScheduledRun(Base):
    """A per-tenant cron task enqueued for one local date: the fan-out sends each once."""

    __tablename__ = "scheduled_runs"

    tenant_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    task: Mapped[str] = mapped_column(String(200), primary_key=True)
    local_date: Mapped[date] = mapped_column(Date, primary_key=True)
    enqueued_at: Mapped[datetime] = utcnow_column()


class BeatRun(Base):
    """When beat last sent each schedule entry (not tenant data): shared by every beat process."""

    __tablename__ = "beat_runs"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_by: Mapped[str] = mapped_column(String(200))
