"""Tasks on the dunning queue: the daily ladder per tenant, and payment events from the inbox."""

from __future__ import annotations

from datetime import date

import structlog
from pydantic import ValidationError
from sqlalchemy.orm import Session

from hookline.db import tenant_session
from hookline.services import dunning, inbox
from hookline.services.billing import BillingError
from hookline.tasks.email import send_after_commit
from hookline.tasks.ghl_sync import queue_pushes
from hookline.tasks.inbox_task import InboxHandler, run_one
from hookline.workers.app import app
from hookline.workers.tenancy import TenantTask

log = structlog.get_logger(__name__)

@app.task(base=TenantTask, name="hookline.tasks.dunning.run_daily")
def run_daily(*, tenant_id: int, local_date: str) -> int:
    """One tenant's dunning run for its local date (the fan-out passes it); a repeated run does nothing."""
    with tenant_session(tenant_id) as session:
        done = dunning.run(session, tenant_id, date.fromisoformat(local_date))
        for step in done:  # sent as soon as the run commits, not when the outbox sweeper next looks
            send_after_commit(session, step.email)
        queue_pushes(session, tenant_id)  # a suspension's tag on the customer's CRM contact
    for step in done:
        log.info("dunning.step", invoice=step.invoice_number, step=step.step, action=step.action)
    log.info("dunning.run", local_date=local_date, steps=len(done))
    return len(done)


def _settle(session: Session, tenant_id: int, event: inbox.Taken) -> str:
    outcome = dunning.apply_event(session, tenant_id, event.event_type, event.payload)
    queue_pushes(session, tenant_id)  # a payment that lifts a suspension clears the tag
    return outcome


# A billing error or a body that does not parse will not get better by retrying: kept for an operator.
PAYMENT_EVENT = InboxHandler("dunning.payment_event", _settle, (BillingError, ValidationError),
                             lambda exc: f"payment event not applied: {exc}")


@app.task(base=TenantTask, name="hookline.tasks.dunning.apply_payment_event")
def apply_payment_event(*, tenant_id: int, event_id: int) -> None:
    """invoice.paid / invoice.payment_failed / charge.refunded: settle the invoice, mark the inbox row."""
    outcome = run_one(PAYMENT_EVENT, tenant_id, event_id)
    if outcome is not None:
        log.info("dunning.payment_event.applied", event_id=event_id, outcome=outcome)
