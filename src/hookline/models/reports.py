"""KPI roll-ups: one row per tenant, local day, metric and dimension (a source, a provider, a currency)."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Date, ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from hookline.models.base import Base, utcnow_column


class ReportMetric(Base):
    """A day's figure, replaced whole when the day is rolled up again (never added to)."""

    __tablename__ = "report_metrics"

    tenant_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)  # the tenant's local day (tenants.timezone)
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)  # e.g. leads, webhooks_failed
    dimension: Mapped[str] = mapped_column(String(200), primary_key=True, server_default="")  # '' when none
    count: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))  # money metrics only (opportunities won, recovered)
    computed_at: Mapped[datetime] = utcnow_column()
