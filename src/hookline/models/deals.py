"""Deals (GoHighLevel opportunities) and the pipelines and stages they move through."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from hookline.models.base import Base, SyncedRecord, provider_key


class Pipeline(SyncedRecord, Base):
    """Made when a deal first names it; webhooks carry only its id, so `name` waits for the API."""

    __tablename__ = "pipelines"
    __table_args__ = (provider_key(),)

    name: Mapped[str | None] = mapped_column(String(200))


class PipelineStage(SyncedRecord, Base):
    __tablename__ = "pipeline_stages"
    __table_args__ = (provider_key(),)

    pipeline_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("pipelines.id", ondelete="CASCADE"),
                                                    index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[int | None] = mapped_column(Integer)


class Deal(SyncedRecord, Base):
    __tablename__ = "deals"
    __table_args__ = (provider_key(),)

    name: Mapped[str | None] = mapped_column(String(400))
    status: Mapped[str | None] = mapped_column(String(32))  # GoHighLevel: open, won, lost, abandoned
    monetary_value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    source: Mapped[str | None] = mapped_column(String(200))
    assigned_to: Mapped[str | None] = mapped_column(String(100))
    # The provider's contact id, not a foreign key: the contact's own event may come later.
    contact_external_id: Mapped[str | None] = mapped_column(String(100), index=True)
    pipeline_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("pipelines.id", ondelete="SET NULL"))
    stage_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("pipeline_stages.id", ondelete="SET NULL"))
    date_added: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
