"""`hookline sync status` and `sync start`: reconciliation progress per tenant, and starting a backfill."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import click

from hookline.commands.connections import _tenant, _use_database
from hookline.db import global_session, tenant_session
from hookline.services import sync as sync_service
from hookline.services import sync_sources
from hookline.services.tenants import list_tenants, tenant_connection

PROVIDERS = sorted({provider for provider, _ in sync_sources.SOURCES})
RESOURCES = sorted({resource for _, resource in sync_sources.SOURCES})
NAMES = {"ghl": "GoHighLevel", "reonic": "Reonic"}


def _age(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    seconds = int((datetime.now(UTC) - moment).total_seconds())
    return f"{seconds}s" if seconds < 120 else f"{seconds // 60}m" if seconds < 7200 else f"{seconds // 3600}h"


def _progress(row) -> str:  # noqa: ANN001
    return f"{row.rows}/{row.total}" if row.total is not None else str(row.rows)


@click.group()
def sync() -> None:
    """Reconciliation with the CRMs: progress, and starting a (full) backfill."""
    from hookline.workers.logs import configure_logging

    configure_logging("WARNING")


@sync.command("status")
@click.option("--tenant", "slug", help="Only this tenant (its slug).")
def sync_status(slug: str | None) -> None:
    """Each tenant's reconciliation per resource: state, pages and rows of the run, cursor age, last error."""
    _use_database()
    with global_session() as session:
        tenants = [_tenant(session, slug)] if slug else [tenant for tenant, _ in list_tenants(session)]
    click.echo(f"{'tenant':<20} {'resource':<18} {'state':<8} {'run':<5} {'pages':>6} {'rows':>13} "
               f"{'cursor age':>10}  last error")
    shown = 0
    for tenant in tenants:
        with tenant_session(tenant.id) as session:
            rows = sync_service.listing(session, tenant.id)
        for row in rows:
            shown += 1
            click.echo(f"{tenant.slug:<20} {row.provider + '/' + row.resource:<18} {row.state:<8} "
                       f"{'full' if row.full else 'incr':<5} {row.pages:>6} {_progress(row):>13} "
                       f"{_age(row.cursor_at):>10}  {row.last_error or ''}")
    if not shown:
        click.echo("no reconciliation has run yet (beat starts one every 15 minutes, or `hookline sync start`)")


@sync.command("start")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
@click.option("--provider", type=click.Choice(PROVIDERS), default="ghl", show_default=True)
@click.option("--resource", type=click.Choice(RESOURCES), default="contacts", show_default=True)
@click.option("--full", is_flag=True, help="Read everything again from the start (a backfill), not since the cursor.")
@click.option("--wait", is_flag=True, help="Show a progress bar until the run finishes.")
def sync_start(slug: str, provider: str, resource: str, full: bool, wait: bool) -> None:
    """Start a reconciliation of the tenant's RESOURCE at PROVIDER now (workers on <provider>_sync do the reading)."""
    _use_database()
    try:
        sync_sources.source(provider, resource)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    with global_session() as session:
        tenant = _tenant(session, slug)
        if tenant_connection(session, tenant.id, provider) is None:
            raise click.ClickException(f"tenant {slug!r} has no {NAMES.get(provider, provider)} connection")
    from hookline.tasks.reconciling import start_sync  # the Celery app reads HOOKLINE_BROKER_URL on import

    outcome = start_sync(tenant.id, provider, resource, full=full)
    if outcome == "busy":
        raise click.ClickException(f"a {resource} sync of {slug} is already running (see `hookline sync status`)")
    click.echo(f"{outcome} {'a full backfill' if full else 'an incremental sync'} of {slug}'s {resource}")
    if wait:
        _wait(tenant.id, provider, resource)


def _wait(tenant_id: int, provider: str, resource: str) -> None:
    def read():  # noqa: ANN202
        with tenant_session(tenant_id) as session:
            return sync_service.find(session, tenant_id, provider, resource)

    row = read()
    with click.progressbar(length=max(row.total or 1, 1), label="syncing", show_pos=True) as bar:
        while row.state == sync_service.RUNNING:
            time.sleep(1)
            row = read()
            if row.total:
                bar.length = max(row.total, row.rows)
            bar.update(row.rows - bar.pos)
    if row.state == sync_service.FAILED:
        raise click.ClickException(f"the sync failed: {row.last_error}")
    click.echo(f"done: {row.pages} page(s), {row.rows} row(s)")
