"""Billing: customers, subscriptions, invoices, payments, and the dunning ladder's record."""

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hookline.models.base import Base, tenant_column, utcnow_column

# Money is NUMERIC(14, 4): exact, room for sub-cent prices; Python sees Decimal, never float.
Money = Numeric(14, 4, asdecimal=True)


class InvoiceStatus(str, enum.Enum):
    OPEN = "open"  # unpaid: the dunning ladder applies once it is past due
    PAID = "paid"
    VOID = "void"


class Customer(Base):
    __tablename__ = "billing_customers"
    __table_args__ = (UniqueConstraint("tenant_id", "external_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = tenant_column()
    external_id: Mapped[str] = mapped_column(String(200))  # the billing provider's id (Stripe `cus_…`)
    name: Mapped[str] = mapped_column(String(400))
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = utcnow_column()


class Subscription(Base):
    __tablename__ = "billing_subscriptions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = tenant_column()
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("billing_customers.id", ondelete="CASCADE"),
                                             index=True)
    plan: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")  # or suspended
    created_at: Mapped[datetime] = utcnow_column()


class Invoice(Base):
    __tablename__ = "billing_invoices"
    __table_args__ = (UniqueConstraint("tenant_id", "number"), UniqueConstraint("tenant_id", "external_id"))

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = tenant_column()
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("billing_customers.id", ondelete="CASCADE"),
                                             index=True)
    subscription_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("billing_subscriptions.id", ondelete="SET NULL"))
    number: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str | None] = mapped_column(String(200))  # Stripe `in_…`
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))  # ISO 4217, upper case
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=InvoiceStatus.OPEN.value, index=True)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    suspended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # the ladder's last step
    reinstated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # paid after suspension
    created_at: Mapped[datetime] = utcnow_column()


class Payment(Base):
    """Money in (kind `payment`), back out (`refund`), or a failed charge (`failed`, amount 0 counted)."""

    __tablename__ = "billing_payments"
    __table_args__ = (UniqueConstraint("tenant_id", "external_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = tenant_column()
    invoice_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("billing_invoices.id", ondelete="CASCADE"),
                                            index=True)
    external_id: Mapped[str] = mapped_column(String(200))  # the provider's event id, or one the CLI makes
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    received_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = utcnow_column()


class DunningAttempt(Base):
    """One step of the ladder done for one invoice; the unique key makes a repeated run a no-op."""

    __tablename__ = "dunning_attempts"
    __table_args__ = (UniqueConstraint("invoice_id", "step"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = tenant_column()
    invoice_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("billing_invoices.id", ondelete="CASCADE"))
    step: Mapped[int] = mapped_column(Integer)  # 1-based position in the tenant's policy
    action: Mapped[str] = mapped_column(String(16))  # reminder | suspend
    days_after_due: Mapped[int] = mapped_column(Integer)
    run_date: Mapped[date] = mapped_column(Date)  # the tenant's local date of the run that did it
    email_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = utcnow_column()


class DunningPolicy(Base):
    """A tenant's ladder; a tenant without a row gets DEFAULT_POLICY (services/billing)."""

    __tablename__ = "dunning_policies"

    tenant_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    reminder_days: Mapped[list[int]] = mapped_column(JSONB)
    suspend_after_days: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = utcnow_column()
