"""The dunning ladder: one daily run per tenant sends each due step once; payment events settle invoices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from hookline.integrations.payments.schemas import ChargeEvent, InvoiceEvent, from_minor_units
from hookline.models import Customer, DunningAttempt, EmailMessage, Invoice, InvoiceStatus
from hookline.services import billing, messaging
from hookline.services.billing import BillingError, Step

REMINDER_TEMPLATE = "dunning_reminder"
SUSPENDED_TEMPLATE = "dunning_suspended"


@dataclass(frozen=True)
class Done:
    invoice_number: str
    step: int
    action: str
    email: EmailMessage  # recorded in the outbox; the caller publishes its send after commit


def run(session: Session, tenant_id: int, today: date) -> list[Done]:
    """Do every step due on `today` (the tenant's local date) that was not done before; safe to run twice.

    An invoice takes only its latest due step: a run missed for days does not send three
    reminders at once. The (invoice, step) key of `dunning_attempts` makes a repeated run — or
    two runs at once — a no-op; the invoice rows are locked so a payment committing meanwhile
    is seen (a paid invoice is no longer open and gets nothing).
    """
    policy = billing.get_policy(session, tenant_id)
    rows = session.execute(
        select(Invoice, Customer)
        .join(Customer, Customer.id == Invoice.customer_id)
        .where(Invoice.tenant_id == tenant_id, Invoice.status == InvoiceStatus.OPEN.value, Invoice.due_date < today)
        .order_by(Invoice.due_date, Invoice.id)
        .with_for_update(of=Invoice)
    ).all()
    last_steps = dict(session.execute(
        select(DunningAttempt.invoice_id, func.max(DunningAttempt.step))
        .where(DunningAttempt.tenant_id == tenant_id, DunningAttempt.invoice_id.in_([i.id for i, _ in rows]))
        .group_by(DunningAttempt.invoice_id)
    ).all())
    done = []
    for invoice, customer in rows:
        step = policy.due_step((today - invoice.due_date).days)
        if step is None or last_steps.get(invoice.id, 0) >= step.number:
            continue
        email = _take_step(session, tenant_id, invoice, customer, step, today,
                           final=step.number == len(policy.reminder_days))
        if email is not None:
            done.append(Done(invoice.number, step.number, step.action, email))
    return done


def _take_step(session: Session, tenant_id: int, invoice: Invoice, customer: Customer, step: Step,
               today: date, *, final: bool) -> EmailMessage | None:
    attempt_id = session.scalar(
        insert(DunningAttempt)
        .values(tenant_id=tenant_id, invoice_id=invoice.id, step=step.number, action=step.action,
                days_after_due=step.days, run_date=today)
        .on_conflict_do_nothing(index_elements=[DunningAttempt.invoice_id, DunningAttempt.step])
        .returning(DunningAttempt.id)
    )
    if attempt_id is None:  # another run did this step
        return None
    if step.action == "suspend":
        billing.suspend(session, tenant_id, invoice)
    email = messaging.enqueue(
        session, tenant_id,
        template=SUSPENDED_TEMPLATE if step.action == "suspend" else REMINDER_TEMPLATE,
        recipient=customer.email,
        context=email_context(invoice, customer, step, today, final=final),
        idempotency_key=f"dunning:{invoice.id}:step-{step.number}",
    )
    session.get_one(DunningAttempt, attempt_id).email_id = email.id
    return email


def email_context(invoice: Invoice, customer: Customer, step: Step, today: date, *, final: bool) -> dict[str, Any]:
    """What the templates get: JSON-safe, the amount as text in the currency's own decimals.

    `final`: the last reminder of the tenant's ladder (its template says "final notice").
    """
    return {"step": step.number, "final": final, "name": customer.name, "invoice_number": invoice.number,
            "amount": billing.display_amount(invoice.amount, invoice.currency), "currency": invoice.currency,
            "due_date": invoice.due_date.isoformat(), "days_overdue": (today - invoice.due_date).days,
            "customer_name": customer.name}


def apply_event(session: Session, tenant_id: int, event_type: str, payload: dict[str, Any]) -> str:
    """A payment provider's event (invoice.paid, invoice.payment_failed, charge.refunded) on its invoice.

    Raises BillingError when it names an invoice Hookline does not know. Returns what was done.
    """
    received_on = datetime.fromtimestamp(payload.get("created") or 0, timezone.utc).date()
    if event_type == "charge.refunded":
        charge = ChargeEvent.model_validate(payload).data.object
        if charge.invoice is None:
            raise BillingError(f"refunded charge {charge.id} names no invoice")
        invoice = billing.find_invoice(session, tenant_id, external_id=charge.invoice, lock=True)
        billing.record_payment(session, tenant_id, invoice, external_id=f"{charge.id}:refunds", kind="refund",
                               amount=from_minor_units(charge.amount_refunded, charge.currency),
                               currency=charge.currency, received_on=received_on)
        return f"refund recorded on {invoice.number}"
    event = InvoiceEvent.model_validate(payload)
    stripe_invoice = event.data.object
    invoice = billing.find_invoice(session, tenant_id, external_id=stripe_invoice.id, lock=True)
    if event_type == "invoice.paid":
        billing.record_payment(session, tenant_id, invoice, external_id=event.id,
                               amount=from_minor_units(stripe_invoice.amount_paid, stripe_invoice.currency),
                               currency=stripe_invoice.currency, received_on=received_on)
        return f"payment recorded on {invoice.number}"
    # invoice.payment_failed: kept for the record; the ladder goes on as it would anyway.
    billing.record_payment(session, tenant_id, invoice, external_id=event.id, kind="failed",
                           amount=from_minor_units(stripe_invoice.amount_due, stripe_invoice.currency),
                           currency=stripe_invoice.currency, received_on=received_on)
    return f"failed payment recorded on {invoice.number}"
