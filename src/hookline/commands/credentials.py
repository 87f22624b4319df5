"""`hookline credentials …`: API credentials per connection (GoHighLevel OAuth or private token, Reonic key).

Values come from a hidden prompt or stdin, are stored encrypted (secrets_box) and are never
printed. Storing credentials again is also how a `needs_reauth` connection is reconnected.
"""

from __future__ import annotations

import sys

import click
from cryptography.fernet import Fernet
from sqlalchemy import select

from hookline.commands.connections import _tenant, _use_database
from hookline.config import get_settings
from hookline.db import global_session, tenant_session
from hookline.integrations.auth import TokenSet
from hookline.integrations.errors import IntegrationError
from hookline.models import Connection, ConnectionToken, Tenant
from hookline.services import tokens
from hookline.services.tenants import reencrypt_secrets, tenant_connection

# provider → (credential kind, what it is called)
STATIC = {"ghl": ("private", "GoHighLevel private-integration token"), "reonic": ("api_key", "Reonic API key")}


def _read_secret(what: str, from_stdin: bool) -> str:
    # sys.stdin, not click.get_text_stream: deprecated, gone in Click 9.0.
    value = (sys.stdin.readline() if from_stdin else click.prompt(what, hide_input=True)).strip()
    if not value:
        raise click.UsageError(f"the {what} is empty")
    return value


def _connection(slug: str, provider: str) -> tuple[int, int, str]:
    """(tenant id, connection id, account id) of tenant SLUG's connection to provider."""
    _use_database()
    with global_session() as session:
        tenant = _tenant(session, slug)
        connection = tenant_connection(session, tenant.id, provider)
        if connection is None:
            raise click.ClickException(f"{slug} has no {provider} connection (`hookline connections add` first)")
        return tenant.id, connection.id, connection.account_id


@click.group()
def credentials() -> None:
    """API credentials of a tenant's connections (encrypted at rest; HOOKLINE_SECRET_KEYS)."""


@credentials.command("set")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
@click.option("--provider", required=True, type=click.Choice(sorted(STATIC)))
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the token from stdin, not a hidden prompt.")
def credentials_set(slug: str, provider: str, from_stdin: bool) -> None:
    """Store a GoHighLevel private-integration token or a Reonic API key (replaces any, clears needs_reauth)."""
    kind, what = STATIC[provider]
    _use_database(seals=True)  # before the prompt: refused for want of keys, nothing is typed in vain
    value = _read_secret(what, from_stdin)
    tenant_id, connection_id, account = _connection(slug, provider)
    with tenant_session(tenant_id) as session:
        tokens.store(session, tenant_id, connection_id, kind, TokenSet(value))
    click.echo(f"stored the {what} for {slug} ({provider} {account})")


@credentials.command("ghl-oauth")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
@click.option("--redirect-uri", help="The redirect URI the authorization code was issued for.")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the code from stdin, not a hidden prompt.")
def credentials_ghl_oauth(slug: str, redirect_uri: str | None, from_stdin: bool) -> None:
    """Exchange the authorization code from the app's install redirect for the location's tokens."""
    from hookline.integrations.ghl.auth import LOCATION, WrongTokenType, make_oauth_app, require_user_type

    settings = get_settings()
    if not settings.ghl_client_id or not settings.ghl_client_secret:
        raise click.UsageError("set HOOKLINE_GHL_CLIENT_ID and HOOKLINE_GHL_CLIENT_SECRET (the Marketplace app's)")
    _use_database(seals=True)
    code = _read_secret("authorization code", from_stdin)
    tenant_id, connection_id, location = _connection(slug, "ghl")
    app = make_oauth_app(settings.ghl_api_url, settings.ghl_client_id, settings.ghl_client_secret.get_secret_value())
    try:
        fresh, details = app.exchange_code(code, redirect_uri)
    except IntegrationError as exc:
        raise click.ClickException(f"GoHighLevel refused the code: {exc}") from None
    try:
        require_user_type(details, LOCATION)
    except WrongTokenType as exc:
        raise click.ClickException(f"{exc}; nothing stored") from None
    if details.get("locationId") != location:
        raise click.ClickException(f"the code is for location {details.get('locationId')!r}, not {location!r}; "
                                   "nothing stored")
    with tenant_session(tenant_id) as session:
        tokens.store(session, tenant_id, connection_id, "oauth", fresh)
    click.echo(f"stored OAuth tokens for {slug} (ghl {location}); they refresh by themselves from now on")


@credentials.command("status")
@click.option("--tenant", "slug", help="Only this tenant.")
def credentials_status(slug: str | None) -> None:
    """Kind, status and expiry of every stored credential (never the values)."""
    _use_database()
    with global_session() as session:
        query = select(Tenant.id, Tenant.slug).order_by(Tenant.id)
        if slug:
            query = query.where(Tenant.id == _tenant(session, slug).id)
        tenant_rows = session.execute(query).all()
    for tenant_id, tenant_slug in tenant_rows:
        with tenant_session(tenant_id) as session:
            rows = session.execute(
                select(Connection.provider, Connection.account_id, ConnectionToken)
                .join(ConnectionToken, ConnectionToken.connection_id == Connection.id)
                .where(ConnectionToken.tenant_id == tenant_id).order_by(Connection.id)).all()
        for provider, account, row in rows:
            expires = f"expires {row.expires_at:%Y-%m-%d %H:%M}" if row.expires_at else "no expiry"
            reason = f" ({row.status_reason})" if row.status_reason else ""
            click.echo(f"{tenant_slug}  {provider} {account}  {row.kind}  {row.status}{reason}  {expires}")


@credentials.command("reencrypt")
def credentials_reencrypt() -> None:
    """Re-encrypt every stored credential and connection secret under the first key of HOOKLINE_SECRET_KEYS."""
    _use_database(seals=True)
    with global_session() as session:
        tenant_ids = session.scalars(select(Tenant.id).order_by(Tenant.id)).all()
    total = connections = 0
    for tenant_id in tenant_ids:
        try:
            with tenant_session(tenant_id) as session:  # one transaction per tenant: all of it or none
                total += tokens.reencrypt(session, tenant_id)
                connections += reencrypt_secrets(session, tenant_id)
        except tokens.SecretBoxError as exc:
            raise click.ClickException(f"tenant {tenant_id}: {exc}; nothing of it changed") from None
    click.echo(f"re-encrypted {total} credential(s) and the secrets of {connections} connection(s) "
               "under the newest key")


@credentials.command("new-key")
def credentials_new_key() -> None:
    """Print a new Fernet key to put first in HOOKLINE_SECRET_KEYS."""
    click.echo(Fernet.generate_key().decode())
