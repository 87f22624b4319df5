"""The `hookline` command: dev, web, console, db, tenants, connections, forms, contacts, events, email, reports, dead-letters, status, billing, celery, env, webhooks."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from hookline.commands.lazy import LazyGroup
from hookline.config import ConfigError, Settings, load_settings

# The admin commands, imported only when one runs (commands/lazy.py): the processes of `hookline dev`
# start through this module too, and need none of them.
COMMANDS = {
    "billing": "hookline.commands.billing:billing_group",
    "connections": "hookline.commands.connections:connections",
    "credentials": "hookline.commands.credentials:credentials",
    "dead-letters": "hookline.commands.dead_letters:dead_letters_group",
    "email": "hookline.commands.email:email",
    "events": "hookline.commands.events:events",
    "forms": "hookline.commands.connections:forms",
    "ghl": "hookline.commands.ghl:ghl",
    "recordings": "hookline.commands.recordings:recordings",
    "reports": "hookline.commands.reports:reports",
    "settings": "hookline.commands.settings:settings_group",
    "status": "hookline.commands.status:status",
    "sync": "hookline.commands.sync:sync",
    "celery": "hookline.commands.stack:celery",
    "env": "hookline.commands.stack:env",
    "webhooks": "hookline.commands.webhooks:webhooks",
}


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group(cls=LazyGroup, lazy=COMMANDS)
def main() -> None:
    """Hookline: webhooks in, tenant-tagged Celery work, PostgreSQL out."""


@main.command()
@click.option("--procfile", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A Procfile of your own; default: the one in the package (the checkout's ./Procfile).")
@click.option("--only", multiple=True, help="Start only these Procfile processes (repeatable).")
def dev(procfile: Path | None, only: tuple[str, ...]) -> None:
    """Start the whole platform: embedded PostgreSQL/Redis unless URLs are set, migrations, every process."""
    import time

    started = time.monotonic()
    from hookline import embedded

    embedded.require("honcho", "`hookline dev`")
    from hookline import dev as devmode

    sys.exit(devmode.run(_settings(), (procfile or devmode.PROCFILE).resolve(), list(only), started=started))


@main.command()
def web() -> None:
    """Serve the ingress with uvicorn on HOOKLINE_HOST:HOOKLINE_PORT."""
    import uvicorn

    settings = _settings()
    _require_urls(settings)
    _require_secret_keys(settings)  # it opens connections' signing secrets
    uvicorn.run("hookline.ingress.app:create_app", factory=True, host=settings.host, port=settings.port,
                log_config=None, access_log=False)


@main.command()
def flower() -> None:
    """Flower behind basic auth (HOOKLINE_FLOWER_BASIC_AUTH), its state kept across restarts in var/."""
    settings = _settings()
    if settings.broker_url is None:
        raise click.ClickException("HOOKLINE_BROKER_URL is not set (or use `hookline dev`, which starts one)")
    if settings.flower_basic_auth is None:
        raise click.ClickException("HOOKLINE_FLOWER_BASIC_AUTH is not set (user:password); Flower never runs open")
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    celery = str(Path(sys.executable).parent / "celery")
    argv = [celery, "-A", "hookline.workers.app", "flower", f"--address={settings.flower_address}",
            f"--port={settings.flower_port}", "--persistent=True", f"--db={settings.var_dir / 'flower.db'}",
            "--state_save_interval=60000"]
    # The credentials go through Flower's environment, not argv, which any local user can read in `ps`.
    env = {**os.environ, "FLOWER_BASIC_AUTH": settings.flower_basic_auth.get_secret_value()}
    os.execve(celery, argv, env)


@main.group(invoke_without_command=True)
@click.pass_context
def console(ctx: click.Context) -> None:
    """The operators' web console on HOOKLINE_CONSOLE_ADDRESS:HOOKLINE_CONSOLE_PORT (users: HOOKLINE_CONSOLE_USERS)."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    settings = _settings()
    _require_urls(settings)
    if settings.console_users is None:
        raise click.ClickException("HOOKLINE_CONSOLE_USERS is not set (name:role:hash, role viewer or operator; "
                                   "`hookline console hash-password` makes the hash); the console never runs open")
    uvicorn.run("hookline.console.app:create_app", factory=True, host=settings.console_address,
                port=settings.console_port, log_config=None, access_log=False)


@console.command("hash-password")
@click.password_option(prompt="Password", confirmation_prompt=True)
def console_hash_password(password: str) -> None:
    """Print an argon2 hash of a password (read from the terminal) for HOOKLINE_CONSOLE_USERS."""
    from hookline.console.users import hash_password

    if len(password) < 8:
        raise click.ClickException("use at least 8 characters")
    click.echo(hash_password(password))


@main.command("metrics-exporter")
def metrics_exporter() -> None:
    """Serve the workers' Prometheus metrics, queue depths and inbox backlog on HOOKLINE_METRICS_PORT."""
    import threading

    from prometheus_client import start_http_server

    settings = _settings()
    _require_urls(settings)
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory or not Path(directory).is_dir():
        raise click.ClickException("PROMETHEUS_MULTIPROC_DIR must name an existing directory, the same one the "
                                   "workers write to (see docs/operations.md)")
    from hookline.workers.app import app
    from hookline.workers.exporter import registry

    start_http_server(settings.metrics_port, settings.metrics_address, registry=registry(app, directory))
    click.echo(f"metrics on http://{settings.metrics_address}:{settings.metrics_port}/metrics")
    threading.Event().wait()


@main.command("worker-check")
@click.option("--name", required=True, help="The worker's node name, e.g. sync@$(hostname) (see the Procfile).")
@click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(0.5, 300),
              help="Seconds the worker has to answer a ping and run the canary task.")
def worker_check(name: str, timeout: float) -> None:
    """Exit 0 if worker NAME answers a ping and runs a canary task in time, else 1 (a healthcheck)."""
    settings = _settings()
    if settings.broker_url is None:
        raise click.ClickException("HOOKLINE_BROKER_URL is not set")
    from hookline.workers.liveness import WorkerUnhealthy, check

    try:
        ping, canary = check(name, timeout=timeout)
    except WorkerUnhealthy as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"worker {name}: ok (ping {ping * 1000:.0f} ms, canary {canary * 1000:.0f} ms)")


@main.group()
def db() -> None:
    """Database schema."""


@db.command()
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from hookline.migrate import upgrade as run_upgrade

    try:
        run_upgrade(_use_database().sqlalchemy_url, revision)
    except ConfigError as exc:  # migration 0015 seals plaintext secrets: it needs HOOKLINE_SECRET_KEYS
        raise click.ClickException(str(exc)) from None
    click.echo(f"database upgraded to {revision}")


@main.group()
def tenants() -> None:
    """Tenants and their connections."""


@tenants.command("add")
@click.argument("name")
@click.option("--ghl-location-id", help="The GoHighLevel locationId whose webhooks belong to this tenant.")
@click.option("--timezone", default="UTC", show_default=True)
def tenants_add(name: str, ghl_location_id: str | None, timezone: str) -> None:
    """Add tenant NAME, optionally connected to a GoHighLevel location."""
    from zoneinfo import available_timezones

    from hookline.db import global_session
    from hookline.services.tenants import TenantError, add_tenant

    if timezone not in available_timezones():
        raise click.BadParameter(f"unknown time zone {timezone!r}", param_hint="--timezone")
    _use_database()
    try:
        with global_session() as session:
            tenant = add_tenant(session, name, ghl_location_id=ghl_location_id, timezone=timezone)
    except TenantError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"tenant {tenant.id} {tenant.slug} added" + (f" (ghl location {ghl_location_id})" if ghl_location_id else ""))


@tenants.command("list")
def tenants_list() -> None:
    """List tenants with their connections."""
    from hookline.db import global_session
    from hookline.services.tenants import list_tenants

    _use_database()
    with global_session() as session:
        rows = list_tenants(session)
    if not rows:
        click.echo("no tenants yet: hookline tenants add NAME --ghl-location-id ID")
        return
    click.echo(f"{'id':>4}  {'slug':<24} {'timezone':<20} connections")
    for tenant, tenant_connections in rows:
        linked = ", ".join(f"{c.provider}:{c.account_id}" + ("" if c.status == "active" else f" ({c.status})")
                           for c in tenant_connections) or "-"
        click.echo(f"{tenant.id:>4}  {tenant.slug:<24} {tenant.timezone:<20} {linked}")


@tenants.command("set-sender")
@click.argument("slug")
@click.option("--name", help="The From display name of the tenant's email (\"\" for the tenant's own name).")
@click.option("--reply-to", help="Where replies to the tenant's email go (\"\" for none).")
def tenants_set_sender(slug: str, name: str | None, reply_to: str | None) -> None:
    """Set tenant SLUG's email sender name and Reply-To (the From address is HOOKLINE_EMAIL_FROM_ADDRESS)."""
    from hookline.db import global_session
    from hookline.services.tenants import TenantError, get_by_slug, set_sender

    if name is None and reply_to is None:
        raise click.UsageError("give --name, --reply-to or both")
    _use_database()
    try:
        with global_session() as session:
            tenant = get_by_slug(session, slug)
            if tenant is None:
                raise click.ClickException(f"no tenant with slug {slug!r}")
            set_sender(session, tenant, name=tenant.email_sender_name if name is None else name,
                       reply_to=tenant.email_reply_to if reply_to is None else reply_to)
            shown = f"{tenant.email_sender_name or tenant.name} <{_settings().email_from_address}>"
            reply = tenant.email_reply_to or "-"
    except TenantError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{slug}: From {shown}, Reply-To {reply}")


@tenants.command("purge")
@click.argument("slug")
@click.option("--yes", is_flag=True, help="Really delete: the tenant and every row of its data, for good.")
def tenants_purge(slug: str, yes: bool) -> None:
    """Delete tenant SLUG and all its data (e.g. after its GoHighLevel app was uninstalled)."""
    from hookline.db import global_session
    from hookline.services.tenants import get_by_slug, purge

    if not yes:
        raise click.UsageError(f"this deletes {slug} and all its data for good; add --yes to do it")
    _use_database()
    with global_session() as session:
        tenant = get_by_slug(session, slug)
        if tenant is None:
            raise click.ClickException(f"no tenant with slug {slug!r}")
        tenant_id = tenant.id
        purge(session, tenant)
    click.echo(f"tenant {tenant_id} {slug} and all its data deleted")


@tenants.command("set-pushes")
@click.argument("slug")
@click.option("--on/--off", "on", required=True, help="Push changes back to the tenant's GoHighLevel, or not.")
def tenants_set_pushes(slug: str, on: bool) -> None:
    """Turn tenant SLUG's pushes to GoHighLevel on or off: the dunning tag and recording notes."""
    from hookline.db import global_session
    from hookline.services import pushes
    from hookline.services.tenants import get_by_slug

    _use_database()
    with global_session() as session:
        tenant = get_by_slug(session, slug)
        if tenant is None:
            raise click.ClickException(f"no tenant with slug {slug!r}")
        pushes.set_enabled(session, tenant, on)
    click.echo(f"{slug}: pushes to GoHighLevel {'on' if on else 'off'}"
               + ("" if on else " (pushes already queued are skipped, not sent)"))


@main.group()
def contacts() -> None:
    """Contacts, per tenant."""


@contacts.command("list")
@click.option("--tenant", "slug", required=True, help="The tenant's slug (see `hookline tenants list`).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
def contacts_list(slug: str, limit: int) -> None:
    """The tenant's most recently updated contacts."""
    from hookline.db import global_session, tenant_session
    from hookline.services import contacts as contact_service
    from hookline.services.tenants import get_by_slug

    _use_database()
    with global_session() as session:
        tenant = get_by_slug(session, slug)
    if tenant is None:
        raise click.ClickException(f"no tenant with slug {slug!r}")
    with tenant_session(tenant.id) as session:
        rows = contact_service.latest(session, tenant.id, limit)
    if not rows:
        click.echo(f"no contacts for {slug} yet")
    for contact in rows:
        click.echo(f"{contact.provider}:{contact.external_id}  {contact.name or '-'}  {contact.email or '-'}  "
                   f"updated {contact.updated_at:%Y-%m-%d %H:%M:%S}")


def _require_urls(settings: Settings) -> None:
    """Processes of a deployment (web) need real URLs; the embedded default is `hookline dev`'s."""
    if settings.database_url is None:
        raise click.ClickException("HOOKLINE_DATABASE_URL is not set (or use `hookline dev`, which starts one)")
    if settings.broker_url is None:
        raise click.ClickException("HOOKLINE_BROKER_URL is not set (or use `hookline dev`, which starts one)")


def _require_secret_keys(settings: Settings) -> None:
    from hookline.secrets_box import require_keys

    try:
        require_keys(settings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _use_database(*, seals: bool = False) -> Settings:
    """Admin commands: the configured database, else the embedded servers under ./var (shared with `dev`):
    its Redis too, unless HOOKLINE_BROKER_URL is set, so a replay publishes to dev's workers.

    `seals`: the command seals or opens credentials, so it needs HOOKLINE_SECRET_KEYS (the embedded
    database brings its own key).
    """
    from hookline import embedded

    settings = _settings()
    if settings.database_url is None:
        embedded.fill_in(settings, broker=True)
        settings = _settings()
    if seals:
        _require_secret_keys(settings)
    return settings


if __name__ == "__main__":
    main()
