"""The dunning ladder on real PostgreSQL, with the date injected: each day is a call, never a sleep."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from hookline.db import tenant_session
from hookline.models import DunningAttempt, EmailMessage, Invoice, Subscription
from hookline.services import billing, dunning, email_templates, pushes
from hookline.services.billing import BillingError, Policy

DUE = date(2026, 11, 1)


def day(n: int) -> date:
    return DUE + timedelta(days=n)


def add_invoice(tenant_id, number, *, customer="cus_ana", amount="129.00", currency="EUR", due=DUE):
    with tenant_session(tenant_id) as session:
        billing.add_invoice(session, tenant_id, customer_external_id=customer, number=number, amount=amount,
                            currency=currency, due_date=due)


@pytest.fixture()
def customer(tenant):
    with tenant_session(tenant.id) as session:
        billing.add_customer(session, tenant.id, external_id="cus_ana", name="Ana Lindqvist", email="ana@example.com",
                             plan="solar-monitoring")
    return tenant


def run(tenant_id, today):
    with tenant_session(tenant_id) as session:
        done = dunning.run(session, tenant_id, today)
        pushes.take_requested(session)  # the caller's part: tasks/ghl_sync.queue_pushes (tests/tasks/test_ghl_pushes.py)
        return [(step.invoice_number, step.step, step.action) for step in done]


def pay(tenant_id, number, amount, on, reference):
    with tenant_session(tenant_id) as session:
        invoice = billing.find_invoice(session, tenant_id, number=number, lock=True)
        billing.record_payment(session, tenant_id, invoice, external_id=reference, amount=amount,
                               currency=invoice.currency, received_on=on)
        pushes.take_requested(session)


def pushes_recorded(tenant_id):
    with tenant_session(tenant_id) as session:
        return [(p.kind, p.key, p.state) for p in reversed(pushes.recent(session, tenant_id))]


def emails(tenant_id):
    with tenant_session(tenant_id) as session:
        rows = session.scalars(select(EmailMessage).where(EmailMessage.tenant_id == tenant_id)
                               .order_by(EmailMessage.id))
        return [(m.template, m.context["invoice_number"], m.context["step"]) for m in rows]


def invoice_row(tenant_id, number):
    with tenant_session(tenant_id) as session:
        invoice = billing.find_invoice(session, tenant_id, number=number)
        subscription = session.get(Subscription, invoice.subscription_id)
        return invoice, subscription.status


def test_twenty_days_of_runs_send_each_step_once_and_a_payment_stops_the_rest(customer):
    add_invoice(customer.id, "INV-PAID")
    add_invoice(customer.id, "INV-UNPAID")

    by_day = {}
    for n in range(0, 21):
        by_day[n] = run(customer.id, day(n))
        if n == 5:
            pay(customer.id, "INV-PAID", "129.00", day(5), "pay-mid-way")

    sent = {n: steps for n, steps in by_day.items() if steps}
    assert sent == {
        1: [("INV-PAID", 1, "reminder"), ("INV-UNPAID", 1, "reminder")],
        3: [("INV-PAID", 2, "reminder"), ("INV-UNPAID", 2, "reminder")],
        7: [("INV-UNPAID", 3, "reminder")],
        14: [("INV-UNPAID", 4, "reminder")],
    }
    assert sorted(emails(customer.id)) == sorted(
        [("dunning_reminder", "INV-PAID", step) for step in (1, 2)]
        + [("dunning_reminder", "INV-UNPAID", step) for step in (1, 2, 3, 4)])
    assert invoice_row(customer.id, "INV-PAID")[0].status == "paid"
    assert invoice_row(customer.id, "INV-UNPAID")[0].status == "open"


def test_a_repeated_run_for_a_day_is_a_no_op(customer):
    add_invoice(customer.id, "INV-1")

    first = run(customer.id, day(3))
    again = run(customer.id, day(3))

    assert (first, again) == ([("INV-1", 2, "reminder")], [])
    with tenant_session(customer.id) as session:
        assert session.scalar(select(func.count()).select_from(DunningAttempt)) == 1
    assert emails(customer.id) == [("dunning_reminder", "INV-1", 2)]


def test_runs_missed_for_days_send_only_the_latest_due_step(customer):
    add_invoice(customer.id, "INV-1")

    assert run(customer.id, day(10)) == [("INV-1", 3, "reminder")]
    assert run(customer.id, day(13)) == []
    assert run(customer.id, day(14)) == [("INV-1", 4, "reminder")]


def test_the_reminder_email_carries_step_number_amount_currency_and_due_date(customer):
    add_invoice(customer.id, "INV-1", amount="1234.5")

    run(customer.id, day(1))

    with tenant_session(customer.id) as session:
        message = session.scalars(select(EmailMessage)).one()
    assert (message.template, message.recipient) == ("dunning_reminder", "ana@example.com")
    assert message.context == {"step": 1, "final": False, "name": "Ana Lindqvist", "invoice_number": "INV-1",
                               "amount": "1234.50", "currency": "EUR", "due_date": "2026-11-01", "days_overdue": 1,
                               "customer_name": "Ana Lindqvist"}


def test_suspension_is_recorded_then_reversed_when_the_invoice_is_paid(customer):
    with tenant_session(customer.id) as session:
        billing.set_policy(session, customer.id, Policy((1,), 3))
    add_invoice(customer.id, "INV-1")

    assert run(customer.id, day(3)) == [("INV-1", 2, "suspend")]
    suspended, status = invoice_row(customer.id, "INV-1")
    assert (suspended.suspended_at is not None, suspended.reinstated_at, status) == (True, None, "suspended")
    assert emails(customer.id) == [("dunning_suspended", "INV-1", 2)]

    pay(customer.id, "INV-1", "129.00", day(4), "late-payment")

    reinstated, status = invoice_row(customer.id, "INV-1")
    assert (reinstated.status, reinstated.reinstated_at is not None, status) == ("paid", True, "active")
    assert run(customer.id, day(30)) == []
    key = f"dunning:{reinstated.id}"
    assert pushes_recorded(customer.id) == [("dunning_tag", f"{key}:suspended", "pending"),
                                            ("dunning_tag", f"{key}:reinstated", "pending")]


def test_a_subscription_stays_suspended_while_another_suspended_invoice_is_unpaid(customer):
    with tenant_session(customer.id) as session:
        billing.set_policy(session, customer.id, Policy((), 2))
    add_invoice(customer.id, "INV-1")
    add_invoice(customer.id, "INV-2")
    run(customer.id, day(2))

    pay(customer.id, "INV-1", "129.00", day(3), "pay-1")
    assert invoice_row(customer.id, "INV-1")[1] == "suspended"

    pay(customer.id, "INV-2", "129.00", day(3), "pay-2")
    assert invoice_row(customer.id, "INV-2")[1] == "active"


def test_amounts_are_exact_decimals(customer):
    add_invoice(customer.id, "INV-CENTS", amount="0.30")

    pay(customer.id, "INV-CENTS", "0.10", day(1), "p1")
    assert invoice_row(customer.id, "INV-CENTS")[0].status == "open"
    pay(customer.id, "INV-CENTS", Decimal("0.20"), day(1), "p2")  # 0.1 + 0.2 == 0.3 exactly

    invoice = invoice_row(customer.id, "INV-CENTS")[0]
    assert (invoice.status, invoice.amount, type(invoice.amount)) == ("paid", Decimal("0.30"), Decimal)
    with pytest.raises(BillingError, match="never float"):
        billing.money(0.3)
    with pytest.raises(BillingError, match="at most 4 decimals"):
        billing.money("0.00001")
    assert billing.display_amount(Decimal("1290"), "JPY") == "1290"


def test_a_payment_recorded_twice_under_one_reference_counts_once(customer):
    add_invoice(customer.id, "INV-1", amount="100.00")

    pay(customer.id, "INV-1", "60.00", day(1), "same-ref")
    pay(customer.id, "INV-1", "60.00", day(1), "same-ref")

    assert invoice_row(customer.id, "INV-1")[0].status == "open"


def test_a_refund_reopens_the_invoice_and_the_ladder_goes_on_without_repeating(customer):
    add_invoice(customer.id, "INV-1")
    run(customer.id, day(1))
    pay(customer.id, "INV-1", "129.00", day(2), "pay")
    with tenant_session(customer.id) as session:
        invoice = billing.find_invoice(session, customer.id, number="INV-1", lock=True)
        billing.record_payment(session, customer.id, invoice, external_id="ch_1:refunds", kind="refund",
                               amount="129.00", currency="EUR", received_on=day(4))

    assert invoice_row(customer.id, "INV-1")[0].status == "open"
    assert run(customer.id, day(4)) == [("INV-1", 2, "reminder")]


def test_a_payment_in_another_currency_is_refused(customer):
    add_invoice(customer.id, "INV-1")

    with pytest.raises(BillingError, match="in EUR, not USD"), tenant_session(customer.id) as session:
        invoice = billing.find_invoice(session, customer.id, number="INV-1")
        billing.record_payment(session, customer.id, invoice, external_id="x", amount="129.00", currency="USD",
                               received_on=day(1))


@pytest.mark.parametrize(("reminders", "suspend", "message"), [
    ((3, 1), None, "increasing"),
    ((0, 3), None, "1 or more"),
    ((1, 3), 3, "after the last reminder"),
])
def test_a_bad_policy_is_refused(reminders, suspend, message):
    with pytest.raises(BillingError, match=message):
        Policy(reminders, suspend)


def test_one_tenants_run_never_touches_another_tenants_invoices(customer, other_tenant):
    add_invoice(customer.id, "INV-1")

    assert run(other_tenant.id, day(1)) == []
    assert emails(other_tenant.id) == []
    with tenant_session(other_tenant.id) as session:
        assert session.scalars(select(Invoice)).all() == []


def test_every_email_of_the_default_ladder_renders_with_its_template(customer):
    add_invoice(customer.id, "INV-1")
    for n in (1, 3, 7, 14, 21):
        run(customer.id, day(n))

    with tenant_session(customer.id) as session:
        messages = session.scalars(select(EmailMessage).order_by(EmailMessage.id)).all()
    subjects = [email_templates.render(m.template, m.context, sender_name="Sunny Solar", recipient=m.recipient).subject
                for m in messages]
    assert subjects == [
        "Reminder: invoice INV-1 is due",
        "Reminder 2: invoice INV-1 is overdue",
        "Reminder 3: invoice INV-1 is overdue",
        "Final notice: invoice INV-1 is overdue",  # the last reminder of four, not the third
        "Service suspended: invoice INV-1 is unpaid",
    ]
