"""Billing: customers, invoices and payments in Decimal; the tenant's dunning policy.

The daily ladder itself is `services/dunning.py`. Amounts are Decimal from the edge inwards:
a float is refused, because 0.1 + 0.2 is not 0.3 in binary floating point.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import case, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from hookline.integrations.payments.schemas import decimal_places
from hookline.models import Customer, DunningAttempt, DunningPolicy, Invoice, InvoiceStatus, Payment, Subscription
from hookline.services import pushes
from hookline.services.rows import insert_new

DEFAULT_REMINDER_DAYS = (1, 3, 7, 14)
# A week after the last reminder, the same spacing as 7 → 14.
DEFAULT_SUSPEND_AFTER_DAYS = 21


class BillingError(ValueError):
    """A billing request that cannot be honoured (unknown invoice, bad amount, duplicate number)."""


@dataclass(frozen=True)
class Step:
    number: int  # 1-based; the dunning_attempts key with the invoice
    days: int  # after the due date
    action: str  # "reminder" or "suspend"


@dataclass(frozen=True)
class Policy:
    reminder_days: tuple[int, ...] = DEFAULT_REMINDER_DAYS
    suspend_after_days: int | None = DEFAULT_SUSPEND_AFTER_DAYS

    def __post_init__(self) -> None:
        days = list(self.reminder_days)
        if any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in days):
            raise BillingError("reminder days must be whole days after the due date, 1 or more")
        if days != sorted(set(days)):
            raise BillingError("reminder days must be increasing, without repeats")
        if self.suspend_after_days is not None and days and self.suspend_after_days <= days[-1]:
            raise BillingError("suspension must come after the last reminder")
        if self.suspend_after_days is not None and self.suspend_after_days < 1:
            raise BillingError("suspension must be 1 or more days after the due date")

    @property
    def steps(self) -> list[Step]:
        steps = [Step(number, days, "reminder") for number, days in enumerate(self.reminder_days, start=1)]
        if self.suspend_after_days is not None:
            steps.append(Step(len(steps) + 1, self.suspend_after_days, "suspend"))
        return steps

    def due_step(self, days_overdue: int) -> Step | None:
        """The latest step due after `days_overdue` days; earlier ones a missed run skipped are not sent late."""
        due = [step for step in self.steps if step.days <= days_overdue]
        return due[-1] if due else None


def money(value: Decimal | str | int) -> Decimal:
    """An amount as an exact, non-negative Decimal with at most 4 decimals; a float is refused."""
    if isinstance(value, (float, bool)):
        raise BillingError("amounts are Decimal or text, never float")
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, ValueError):
        raise BillingError(f"not an amount: {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise BillingError(f"an amount must be a finite number, 0 or more: {value!r}")
    if amount != amount.quantize(Decimal("0.0001")):
        raise BillingError(f"an amount has at most 4 decimals: {value!r}")
    if amount >= Decimal("1e10"):
        raise BillingError(f"amount too large: {value!r}")
    return amount


def currency_code(value: str) -> str:
    code = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise BillingError(f"a currency is a three-letter ISO 4217 code, got {value!r}")
    return code


def display_amount(amount: Decimal, currency: str) -> str:
    """'129.00' for EUR, '1290' for JPY: the currency's own number of decimals, as text."""
    return str(amount.quantize(Decimal(1).scaleb(-decimal_places(currency))))


def add_customer(session: Session, tenant_id: int, *, external_id: str, name: str, email: str,
                 plan: str | None = None) -> Customer:
    """A customer, and an active subscription to `plan` when given. Refuses a duplicate external id."""
    if "@" not in email:
        raise BillingError(f"not an email address: {email!r}")
    customer = Customer(tenant_id=tenant_id, external_id=external_id.strip(), name=name.strip(), email=email.strip())
    insert_new(session, customer, BillingError(f"customer {external_id!r} already exists"))
    if plan:
        session.add(Subscription(tenant_id=tenant_id, customer_id=customer.id, plan=plan.strip()))
        session.flush()
    return customer


def add_invoice(session: Session, tenant_id: int, *, customer_external_id: str, number: str,
                amount: Decimal | str, currency: str, due_date: date, external_id: str | None = None) -> Invoice:
    """An open invoice for a customer (on its latest subscription, if it has one)."""
    customer = session.scalars(select(Customer).where(Customer.tenant_id == tenant_id,
                                                      Customer.external_id == customer_external_id)).one_or_none()
    if customer is None:
        raise BillingError(f"no customer {customer_external_id!r}")
    subscription_id = session.scalar(
        select(Subscription.id).where(Subscription.tenant_id == tenant_id, Subscription.customer_id == customer.id)
        .order_by(Subscription.id.desc()).limit(1))
    invoice = Invoice(tenant_id=tenant_id, customer_id=customer.id, subscription_id=subscription_id,
                      number=number.strip(), external_id=external_id, amount=money(amount),
                      currency=currency_code(currency), due_date=due_date)
    return insert_new(session, invoice,
                      BillingError(f"invoice {number!r} (or external id {external_id!r}) already exists"))


def find_invoice(session: Session, tenant_id: int, *, number: str | None = None, external_id: str | None = None,
                 lock: bool = False) -> Invoice:
    statement = select(Invoice).where(Invoice.tenant_id == tenant_id)
    statement = statement.where(Invoice.number == number if number is not None else Invoice.external_id == external_id)
    invoice = session.scalars(statement.with_for_update() if lock else statement).one_or_none()
    if invoice is None:
        raise BillingError(f"no invoice {number or external_id!r}")
    return invoice


def record_payment(session: Session, tenant_id: int, invoice: Invoice, *, external_id: str, amount: Decimal | str,
                   currency: str, received_on: date, kind: str = "payment") -> bool:
    """Record money in (`payment`), out (`refund`) or a failed charge, once per external id, then settle.

    A refund's external id names the charge and its amount is the running total refunded (as
    the provider reports it), so the row is raised, never added twice. False for a duplicate.
    """
    amount, currency = money(amount), currency_code(currency)
    if currency != invoice.currency:
        raise BillingError(f"invoice {invoice.number} is in {invoice.currency}, not {currency}")
    statement = insert(Payment).values(tenant_id=tenant_id, invoice_id=invoice.id, external_id=external_id, kind=kind,
                                       amount=amount, currency=currency, received_on=received_on)
    if kind == "refund":
        statement = statement.on_conflict_do_update(
            index_elements=[Payment.tenant_id, Payment.external_id],
            set_={"amount": func.greatest(Payment.amount, statement.excluded.amount)},
            where=Payment.amount < statement.excluded.amount)
    else:
        statement = statement.on_conflict_do_nothing(index_elements=[Payment.tenant_id, Payment.external_id])
    created = session.execute(statement.returning(Payment.id)).first() is not None
    settle(session, tenant_id, invoice)
    return created


def net_paid(session: Session, tenant_id: int, invoice_id: int) -> Decimal:
    signed = case((Payment.kind == "payment", Payment.amount), (Payment.kind == "refund", -Payment.amount), else_=0)
    return session.execute(select(func.coalesce(func.sum(signed), 0))
                           .where(Payment.tenant_id == tenant_id, Payment.invoice_id == invoice_id)).scalar_one()


def settle(session: Session, tenant_id: int, invoice: Invoice) -> None:
    """Paid once payments cover the amount (lifting a suspension); open again if a refund uncovers it."""
    covered = net_paid(session, tenant_id, invoice.id) >= invoice.amount
    if covered and invoice.status == InvoiceStatus.OPEN.value:
        invoice.status, invoice.paid_at = InvoiceStatus.PAID.value, func.now()
        if invoice.suspended_at is not None and invoice.reinstated_at is None:
            invoice.reinstated_at = func.now()
            session.flush()
            _reinstate(session, tenant_id, invoice.subscription_id)
            pushes.request_dunning_tag(session, tenant_id, invoice, "reinstated")
    elif not covered and invoice.status == InvoiceStatus.PAID.value:
        invoice.status, invoice.paid_at = InvoiceStatus.OPEN.value, None
    session.flush()


def suspend(session: Session, tenant_id: int, invoice: Invoice) -> None:
    invoice.suspended_at, invoice.reinstated_at = func.now(), None
    if invoice.subscription_id is not None:
        session.get_one(Subscription, invoice.subscription_id).status = "suspended"
    session.flush()
    pushes.request_dunning_tag(session, tenant_id, invoice, "suspended")


def is_suspended(session: Session, tenant_id: int, customer_id: int) -> bool:
    """Whether the customer has an unpaid invoice the ladder suspended and no payment has reinstated."""
    return session.execute(select(func.count()).select_from(Invoice).where(
        Invoice.tenant_id == tenant_id, Invoice.customer_id == customer_id, Invoice.status == InvoiceStatus.OPEN.value,
        Invoice.suspended_at.is_not(None), Invoice.reinstated_at.is_(None))).scalar_one() > 0


def _reinstate(session: Session, tenant_id: int, subscription_id: int | None) -> None:
    """The subscription is active again unless another unpaid invoice still holds it suspended."""
    if subscription_id is None:
        return
    still_suspended = session.scalar(select(func.count()).select_from(Invoice).where(
        Invoice.tenant_id == tenant_id, Invoice.subscription_id == subscription_id,
        Invoice.status == InvoiceStatus.OPEN.value, Invoice.suspended_at.is_not(None)))
    if not still_suspended:
        session.get_one(Subscription, subscription_id).status = "active"


def invoices_with_steps(session: Session, tenant_id: int) -> list[tuple[Invoice, list[int]]]:
    """Every invoice of the tenant, oldest due first, with the dunning steps done for it."""
    rows = session.scalars(select(Invoice).where(Invoice.tenant_id == tenant_id).order_by(Invoice.due_date, Invoice.id))
    steps: dict[int, list[int]] = {}
    for invoice_id, step in session.execute(select(DunningAttempt.invoice_id, DunningAttempt.step)
                                            .where(DunningAttempt.tenant_id == tenant_id).order_by(DunningAttempt.step)):
        steps.setdefault(invoice_id, []).append(step)
    return [(invoice, steps.get(invoice.id, [])) for invoice in rows]


def get_policy(session: Session, tenant_id: int) -> Policy:
    row = session.get(DunningPolicy, tenant_id)
    return Policy() if row is None else Policy(tuple(row.reminder_days), row.suspend_after_days)


def set_policy(session: Session, tenant_id: int, policy: Policy) -> Policy:
    """Replace the tenant's ladder. Steps are numbered by position, so an invoice halfway through
    the old ladder continues at the new ladder's step for its age (never an earlier one)."""
    statement = insert(DunningPolicy).values(tenant_id=tenant_id, reminder_days=list(policy.reminder_days),
                                             suspend_after_days=policy.suspend_after_days)
    session.execute(statement.on_conflict_do_update(
        index_elements=[DunningPolicy.tenant_id],
        set_={"reminder_days": statement.excluded.reminder_days,
              "suspend_after_days": statement.excluded.suspend_after_days, "updated_at": func.now()}))
    return policy
