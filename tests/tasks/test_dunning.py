"""The dunning queue's tasks on real PostgreSQL: payment events from the inbox, the daily run."""

from datetime import date

import pytest
from sqlalchemy import select

from hookline.db import tenant_session
from hookline.models import EmailMessage, EventStatus, Payment
from hookline.services import billing, inbox
from hookline.tasks.dunning import apply_payment_event, run_daily
from hookline.workers.handlers import handler_for
from hookline.workers.routing import task_routes
from tests.support.webhooks import payload

STRIPE_INVOICE = "in_1QbP7wSunny0001"  # what tests/fixtures/payments/*.json name


@pytest.fixture()
def invoice(tenant):
    with tenant_session(tenant.id) as session:
        billing.add_customer(session, tenant.id, external_id="cus_SunnyHomeowner01", name="Ana", email="ana@example.com")
        billing.add_invoice(session, tenant.id, customer_external_id="cus_SunnyHomeowner01", number="INV-2026-001",
                            amount="129.00", currency="EUR", due_date=date(2026, 11, 16), external_id=STRIPE_INVOICE)
    return tenant


def store(tenant_id, fixture, **changes):
    body = payload(f"payments/{fixture}.json", **changes)
    with tenant_session(tenant_id) as session:
        return inbox.store(session, tenant_id, provider="payments", event_type=body["type"], dedupe_key=body["id"],
                           payload=body).event_id


def state(tenant_id, event_id):
    with tenant_session(tenant_id) as session:
        event = inbox.get(session, tenant_id, event_id)
        invoice = billing.find_invoice(session, tenant_id, external_id=STRIPE_INVOICE)
        payments = session.scalars(select(Payment).order_by(Payment.id)).all()
        return event, invoice.status, [(p.kind, p.amount) for p in payments]


@pytest.mark.parametrize("event_type", ["invoice.paid", "invoice.payment_failed", "charge.refunded"])
def test_payment_events_are_handled_on_the_dunning_queue(event_type):
    handler = handler_for("payments", event_type)

    assert handler is not None
    assert task_routes["hookline.tasks.dunning.*"]["queue"] == "dunning"
    assert handler.task.startswith("hookline.tasks.dunning.")


def test_invoice_paid_delivered_twice_pays_the_invoice_once(invoice):
    event_id = store(invoice.id, "invoice.paid")

    apply_payment_event(tenant_id=invoice.id, event_id=event_id)
    apply_payment_event(tenant_id=invoice.id, event_id=event_id)

    event, status, payments = state(invoice.id, event_id)
    assert (event.status, status, payments) == ("processed", "paid", [("payment", 129)])


def test_a_failed_payment_is_recorded_and_the_invoice_stays_open(invoice):
    event_id = store(invoice.id, "invoice.payment_failed")

    apply_payment_event(tenant_id=invoice.id, event_id=event_id)

    event, status, payments = state(invoice.id, event_id)
    assert (event.status, status, payments) == ("processed", "open", [("failed", 129)])


def test_refund_events_carry_a_running_total_and_reopen_the_invoice(invoice):
    apply_payment_event(tenant_id=invoice.id, event_id=store(invoice.id, "invoice.paid"))
    partial = store(invoice.id, "charge.refunded")
    apply_payment_event(tenant_id=invoice.id, event_id=partial)
    assert state(invoice.id, partial)[1:] == ("open", [("payment", 129), ("refund", 49)])

    body = payload("payments/charge.refunded.json", id="evt_3QbP7xSunnyRefund2")
    body["data"]["object"]["amount_refunded"] = 5900  # a second refund: the total so far
    with tenant_session(invoice.id) as session:
        second = inbox.store(session, invoice.id, provider="payments", event_type="charge.refunded",
                             dedupe_key=body["id"], payload=body).event_id
    apply_payment_event(tenant_id=invoice.id, event_id=second)

    assert state(invoice.id, second)[1:] == ("open", [("payment", 129), ("refund", 59)])


def test_an_event_for_an_unknown_invoice_is_kept_as_failed_with_the_reason(invoice):
    body = payload("payments/invoice.paid.json")
    body["data"]["object"]["id"] = "in_nobody_knows"
    with tenant_session(invoice.id) as session:
        event_id = inbox.store(session, invoice.id, provider="payments", event_type="invoice.paid",
                               dedupe_key=body["id"], payload=body).event_id

    apply_payment_event(tenant_id=invoice.id, event_id=event_id)

    event, status, payments = state(invoice.id, event_id)
    assert (event.status, status, payments) == (EventStatus.FAILED.value, "open", [])
    assert "in_nobody_knows" in event.last_error


def test_the_daily_task_runs_the_ladder_for_its_local_date_once(invoice):
    assert run_daily(tenant_id=invoice.id, local_date="2026-11-17") == 1
    assert run_daily(tenant_id=invoice.id, local_date="2026-11-17") == 0

    with tenant_session(invoice.id) as session:
        [message] = session.scalars(select(EmailMessage)).all()
    assert (message.template, message.context["step"], message.context["amount"]) == ("dunning_reminder", 1, "129.00")
