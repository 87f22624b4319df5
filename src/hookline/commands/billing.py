"""`hookline billing …`: customers, invoices, payments, the dunning policy and a dunning run, per tenant.

The payments webhook is how payments arrive in production; these commands are for operators
and tests (a run for any date: the ladder is decided by the date given, never the wall clock).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import click

from hookline.config import ConfigError
from hookline.db import global_session, tenant_session
from hookline.services import billing, dunning, pushes
from hookline.services.billing import BillingError, Policy
from hookline.services.tenants import get_by_slug


def _tenant(slug: str) -> tuple[int, str]:
    """The tenant's id and time zone."""
    from hookline.cli import _use_database

    _use_database()
    with global_session() as session:
        tenant = get_by_slug(session, slug)
    if tenant is None:
        raise click.ClickException(f"no tenant with slug {slug!r} (see `hookline tenants list`)")
    return tenant.id, tenant.timezone


def _tenant_id(slug: str) -> int:
    return _tenant(slug)[0]


def _day(value: str | None, param: str, zone: str = "UTC") -> date:
    """A YYYY-MM-DD option; unset: today in the tenant's time zone."""
    try:
        return date.fromisoformat(value) if value else datetime.now(ZoneInfo(zone)).date()
    except ValueError:
        raise click.BadParameter(f"not a date (YYYY-MM-DD): {value!r}", param_hint=param) from None


def _days(value: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter(f"whole days separated by commas, e.g. 1,3,7,14: {value!r}",
                                 param_hint="--reminders") from None


tenant_option = click.option("--tenant", "slug", required=True, help="The tenant's slug.")


@click.group()
def billing_group() -> None:
    """Customers, invoices, payments and dunning, per tenant."""


@billing_group.command("add-customer")
@tenant_option
@click.option("--id", "external_id", required=True, help="The billing provider's customer id (e.g. cus_…).")
@click.option("--name", required=True)
@click.option("--email", required=True, help="Where dunning emails go.")
@click.option("--plan", help="Also start an active subscription to this plan.")
def add_customer(slug: str, external_id: str, name: str, email: str, plan: str | None) -> None:
    """Add a customer (and a subscription)."""
    tenant_id = _tenant_id(slug)
    try:
        with tenant_session(tenant_id) as session:
            customer = billing.add_customer(session, tenant_id, external_id=external_id, name=name, email=email,
                                            plan=plan)
    except BillingError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"customer {customer.id} {customer.external_id} added" + (f" on plan {plan}" if plan else ""))


@billing_group.command("add-invoice")
@tenant_option
@click.option("--customer", required=True, help="The customer's id (as given to add-customer).")
@click.option("--number", required=True, help="The invoice number, unique per tenant.")
@click.option("--amount", required=True, help="Exact decimal amount, e.g. 129.00.")
@click.option("--currency", required=True, help="ISO 4217 code, e.g. EUR.")
@click.option("--due", required=True, help="Due date, YYYY-MM-DD.")
@click.option("--external-id", help="The billing provider's invoice id (in_…), which its webhooks name.")
def add_invoice(slug: str, customer: str, number: str, amount: str, currency: str, due: str,
                external_id: str | None) -> None:
    """Add an open invoice."""
    tenant_id, due_date = _tenant_id(slug), _day(due, "--due")
    try:
        with tenant_session(tenant_id) as session:
            invoice = billing.add_invoice(session, tenant_id, customer_external_id=customer, number=number,
                                          amount=amount, currency=currency, due_date=due_date, external_id=external_id)
            shown = billing.display_amount(invoice.amount, invoice.currency)
    except BillingError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"invoice {invoice.number}: {shown} {invoice.currency} due {invoice.due_date}")


@billing_group.command("pay")
@tenant_option
@click.option("--invoice", "number", required=True, help="The invoice number.")
@click.option("--amount", required=True, help="Exact decimal amount received.")
@click.option("--on", "received", help="Date received, YYYY-MM-DD (default: the tenant's today).")
@click.option("--reference", help="The payment's own id; the same reference twice is recorded once.")
def pay(slug: str, number: str, amount: str, received: str | None, reference: str | None) -> None:
    """Record a payment; an invoice paid in full stops its dunning and lifts a suspension."""
    tenant_id, zone = _tenant(slug)
    received_on = _day(received, "--on", zone)
    try:
        with tenant_session(tenant_id) as session:
            invoice = billing.find_invoice(session, tenant_id, number=number, lock=True)
            created = billing.record_payment(session, tenant_id, invoice, amount=amount, currency=invoice.currency,
                                             external_id=reference or f"cli:{uuid.uuid4().hex}",
                                             received_on=received_on)
            _queue_pushes(session, tenant_id)  # a lifted suspension clears the customer's CRM tag
            status = invoice.status
    except (BillingError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"payment {'recorded' if created else 'already recorded'}; invoice {number} is {status}")


def _queue_pushes(session, tenant_id: int) -> None:  # noqa: ANN001 - a Session
    if pushes.requested(session):
        from hookline.tasks.ghl_sync import queue_pushes  # the Celery app reads HOOKLINE_BROKER_URL on import

        queue_pushes(session, tenant_id)


@billing_group.command("policy")
@tenant_option
@click.option("--reminders", help="Days after the due date to remind, e.g. 1,3,7,14.")
@click.option("--suspend-after", help="Days after the due date to suspend, or 'never'.")
def policy(slug: str, reminders: str | None, suspend_after: str | None) -> None:
    """Show the tenant's dunning policy, or change it with --reminders / --suspend-after."""
    tenant_id = _tenant_id(slug)
    try:
        with tenant_session(tenant_id) as session:
            current = billing.get_policy(session, tenant_id)
            if reminders is not None or suspend_after is not None:
                current = billing.set_policy(session, tenant_id, Policy(
                    _days(reminders) if reminders is not None else current.reminder_days,
                    _suspend_days(suspend_after) if suspend_after is not None else current.suspend_after_days))
    except BillingError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo("reminders: " + (", ".join(f"day {d}" for d in current.reminder_days) or "none"))
    click.echo("suspend: " + (f"day {current.suspend_after_days}" if current.suspend_after_days else "never"))


def _suspend_days(value: str) -> int | None:
    if value.strip().lower() == "never":
        return None
    if not value.strip().isdigit():
        raise click.BadParameter(f"a whole number of days or 'never': {value!r}", param_hint="--suspend-after")
    return int(value)


@billing_group.command("run")
@tenant_option
@click.option("--date", "day", help="The tenant's local date to run for, YYYY-MM-DD (default: its today).")
def run(slug: str, day: str | None) -> None:
    """Run the dunning ladder for one date; running it again for that date does nothing."""
    tenant_id, zone = _tenant(slug)
    today = _day(day, "--date", zone)
    from hookline.tasks.email import send_after_commit  # the Celery app reads HOOKLINE_BROKER_URL on import
    from hookline.tasks.ghl_sync import queue_pushes

    with tenant_session(tenant_id) as session:
        done = dunning.run(session, tenant_id, today)
        for step in done:
            send_after_commit(session, step.email)
        queue_pushes(session, tenant_id)  # a suspension's tag on the customer's CRM contact
    for step in done:
        click.echo(f"{step.invoice_number}: step {step.step} ({step.action})")
    click.echo(f"{len(done)} step(s) done for {today}")


@billing_group.command("invoices")
@tenant_option
def invoices(slug: str) -> None:
    """The tenant's invoices, their status and their dunning steps."""
    tenant_id = _tenant_id(slug)
    with tenant_session(tenant_id) as session:
        rows = billing.invoices_with_steps(session, tenant_id)
        if not rows:
            click.echo("no invoices yet")
        for invoice, steps in rows:
            suspended = " suspended" if invoice.suspended_at and not invoice.reinstated_at else ""
            click.echo(f"{invoice.number}  {billing.display_amount(invoice.amount, invoice.currency)} "
                       f"{invoice.currency}  due {invoice.due_date}  {invoice.status}{suspended}  "
                       f"steps: {', '.join(map(str, steps)) or '-'}")
