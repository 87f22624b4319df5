"""`hookline reports run` and `reports export`: recompute a tenant's days, export them as CSV."""

from __future__ import annotations

import re
from datetime import date

import click

from hookline.commands.connections import _tenant, _use_database
from hookline.db import global_session, tenant_session
from hookline.services import reporting

TENANT_HELP = "The tenant's slug (see `hookline tenants list`)."


class Day(click.ParamType):
    """A calendar day written YYYY-MM-DD (the tenant's local day)."""

    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx) -> date:  # noqa: ANN001 - click's signature
        if isinstance(value, date):
            return value
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
                raise ValueError
            return date.fromisoformat(value.strip())
        except ValueError:
            self.fail(f"{value!r} is not a day written YYYY-MM-DD", param, ctx)


def _days_options(command):  # noqa: ANN001, ANN202 - a click decorator
    command = click.option("--to", "last", type=Day(), required=True, help="Last local day, included.")(command)
    command = click.option("--from", "first", type=Day(), required=True, help="First local day.")(command)
    return click.option("--tenant", "slug", required=True, help=TENANT_HELP)(command)


def _tenant_and_range(slug: str, first: date, last: date):  # noqa: ANN202
    if first > last:
        raise click.UsageError(f"--from {first} is after --to {last}")
    _use_database()
    with global_session() as session:
        return _tenant(session, slug)


@click.group()
def reports() -> None:
    """KPI roll-ups per tenant and local day; CSV exports of them."""
    from hookline.workers.logs import configure_logging

    # The service's info lines (a roll-up skipped, per day) are the workers' record; here the
    # command says it once itself. Warnings and errors still reach stderr, as JSON.
    configure_logging("WARNING")


@reports.command("run")
@_days_options
def reports_run(slug: str, first: date, last: date) -> None:
    """Recompute every KPI of the tenant's local days FROM..TO (replaces them; safe to repeat)."""
    tenant = _tenant_and_range(slug, first, last)
    days = reporting.days_between(first, last)
    rows: dict[str, int] = {}
    skipped: set[str] = set()
    with click.progressbar(days, label=f"rolling up {slug}", item_show_func=lambda d: d.isoformat() if d else None) as bar:
        for day in bar:  # one transaction per day: an interrupted run keeps the days it finished
            with tenant_session(tenant.id) as session:
                result = reporting.rollup(session, tenant.id, day)
            for name, written in result.rows.items():
                rows[name] = rows.get(name, 0) + written
            skipped.update(result.skipped)
    click.echo(f"rolled up {len(days)} day(s) for {slug} ({first} to {last}, {tenant.timezone}): "
               + ", ".join(f"{name} {count} row(s)" for name, count in rows.items()))
    if skipped:
        click.echo("skipped, their tables are not there yet: " + ", ".join(sorted(skipped)))


@reports.command("export")
@_days_options
@click.option("--email", "recipient", required=True, help="Who is told by email that the report is ready.")
def reports_export(slug: str, first: date, last: date, recipient: str) -> None:
    """Write the rolled-up figures of FROM..TO as CSV to storage and email RECIPIENT about it."""
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", recipient):
        raise click.BadParameter(f"{recipient!r} is not an email address", param_hint="--email")
    tenant = _tenant_and_range(slug, first, last)
    from hookline.tasks.email import send_after_commit  # the Celery app reads HOOKLINE_BROKER_URL on import

    with tenant_session(tenant.id) as session:
        export = reporting.export_report(session, tenant.id, first, last, recipient=recipient)
        send_after_commit(session, export.email)  # sent now, not when the outbox sweeper next looks
    click.echo(f"wrote {export.rows} figure(s) to storage key {export.key}; "
               f"report_ready email for {recipient} in the outbox (id {export.email.id})")
    if not export.rows:
        click.echo(f"no figures for {first} to {last}: run `hookline reports run` for those days first")
