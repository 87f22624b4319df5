"""`hookline billing …` as a real process against the test database: the path tests and operators use."""

from sqlalchemy import func, select

from hookline.db import tenant_session
from hookline.models import EmailMessage, Invoice
from tests.support.cli import hookline


def ok(*args):
    result = hookline("billing", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_customer_invoice_policy_runs_and_a_payment_through_the_cli(tenant):
    ok("add-customer", "--tenant", tenant.slug, "--id", "cus_1", "--name", "Ana", "--email", "ana@example.com",
       "--plan", "monitoring")
    assert "129.50 EUR due 2026-11-01" in ok("add-invoice", "--tenant", tenant.slug, "--customer", "cus_1",
                                               "--number", "INV-1", "--amount", "129.5", "--currency", "eur",
                                               "--due", "2026-11-01")
    assert ok("policy", "--tenant", tenant.slug, "--reminders", "2,5", "--suspend-after", "9").splitlines() == [
        "reminders: day 2, day 5", "suspend: day 9"]

    assert "INV-1: step 1 (reminder)" in ok("run", "--tenant", tenant.slug, "--date", "2026-11-03")
    assert "0 step(s) done" in ok("run", "--tenant", tenant.slug, "--date", "2026-11-03")
    assert "INV-1: step 3 (suspend)" in ok("run", "--tenant", tenant.slug, "--date", "2026-11-10")
    assert "open suspended  steps: 1, 3" in ok("invoices", "--tenant", tenant.slug)
    assert "invoice INV-1 is paid" in ok("pay", "--tenant", tenant.slug, "--invoice", "INV-1", "--amount", "129.50",
                                         "--on", "2026-11-11")

    assert "paid  steps: 1, 3" in ok("invoices", "--tenant", tenant.slug)
    with tenant_session(tenant.id) as session:
        templates = session.scalars(select(EmailMessage.template).order_by(EmailMessage.id)).all()
    assert templates == ["dunning_reminder", "dunning_suspended"]


def test_bad_input_is_a_clear_error_and_stores_nothing(tenant):
    ok("add-customer", "--tenant", tenant.slug, "--id", "cus_1", "--name", "Ana", "--email", "ana@example.com")

    cases = [
        (["add-invoice", "--tenant", tenant.slug, "--customer", "cus_1", "--number", "I", "--amount", "12,50",
          "--currency", "EUR", "--due", "2026-11-01"], "not an amount"),
        (["add-invoice", "--tenant", tenant.slug, "--customer", "cus_1", "--number", "I", "--amount", "1",
          "--currency", "EUR", "--due", "tomorrow"], "not a date"),
        (["policy", "--tenant", tenant.slug, "--reminders", "7,3"], "increasing"),
        (["pay", "--tenant", tenant.slug, "--invoice", "NOPE", "--amount", "1"], "no invoice 'NOPE'"),
    ]
    for args, message in cases:
        result = hookline("billing", *args)
        assert result.returncode != 0 and message in result.stderr, (args, result.stderr)

    with tenant_session(tenant.id) as session:
        assert session.scalar(select(func.count()).select_from(Invoice)) == 0
    assert "suspend: day 21" in ok("policy", "--tenant", tenant.slug)
