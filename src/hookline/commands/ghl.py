"""`hookline ghl install-url` and `ghl installs`: connecting GoHighLevel through the Marketplace."""

from __future__ import annotations

import click

from hookline.commands.connections import _tenant, _use_database
from hookline.config import ConfigError
from hookline.db import global_session


@click.group()
def ghl() -> None:
    """GoHighLevel Marketplace installs (README: "Connect GoHighLevel")."""


@ghl.command("install-url")
@click.option("--tenant", "slug", help="Attach the installed location to this existing tenant.")
@click.option("--agency", is_flag=True, help="An agency (bulk) install: a Company token for many locations.")
def install_url(slug: str | None, agency: bool) -> None:
    """Print the Marketplace install link, with a fresh single-use `state`."""
    from hookline.integrations.ghl.auth import COMPANY, LOCATION
    from hookline.services import ghl_connect

    if slug and agency:
        raise click.UsageError("--tenant attaches one location; an --agency install makes a tenant per location")
    tenant_id = None
    if slug:
        _use_database()
        with global_session() as session:
            tenant_id = _tenant(session, slug).id
    try:
        state = ghl_connect.make_state(user_type=COMPANY if agency else LOCATION, tenant_id=tenant_id)
        click.echo(ghl_connect.install_url(state))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@ghl.command("installs")
def installs() -> None:
    """Agency installs: status, locations by state (pending, connected, failed, uninstalled), last error."""
    from hookline.services import ghl_installs

    _use_database()
    with global_session() as session:
        rows = ghl_installs.progress(session)
    if not rows:
        click.echo("no agency install yet: hookline ghl install-url --agency")
        return
    click.echo(f"{'id':>4}  {'company':<24} {'status':<12} {'listed':>6} {'pending':>7} {'connected':>9} "
               f"{'failed':>6} {'uninstalled':>11}  last error")
    for install, counts in rows:
        click.echo(f"{install.id:>4}  {install.company_id:<24} {install.status:<12} {install.skip:>6} "
                   f"{counts.get('pending', 0):>7} {counts.get('connected', 0):>9} {counts.get('failed', 0):>6} "
                   f"{counts.get('uninstalled', 0):>11}  {install.last_error or ''}")
