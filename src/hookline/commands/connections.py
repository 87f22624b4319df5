"""`hookline connections add|set-secret` and `hookline forms new-key`: how a tenant's senders get in.

Secrets are read from a hidden prompt (or stdin), never from an argument that would sit in the
shell's history, and stored sealed (secrets_box); the forms API key is printed once and only its
SHA-256 is stored (sealed too).
"""

from __future__ import annotations

import hashlib
import secrets
import sys
from typing import TYPE_CHECKING

import click

from hookline.db import global_session
from hookline.ingress.connections import FORM_KEY_HASH, WEBHOOK_SECRET
from hookline.services.tenants import (
    TenantError,
    add_connection,
    find_connection,
    get_by_slug,
    set_secret,
    tenant_connection,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hookline.config import Settings
    from hookline.models import Tenant

# provider → what its account id is called; None: we make an unguessable URL token for it.
PROVIDERS = {
    "ghl": "the GoHighLevel locationId",
    "reonic": "the Reonic client id (X-Reonic-Client-Id)",
    "zoom": "the Zoom account_id",
    "payments": None,
}
SIGNED_BY_US = {"ghl"}  # GoHighLevel signs with its app-wide keys (settings), not a per-connection secret


def _use_database(*, seals: bool = False) -> Settings:
    from hookline.cli import _use_database as use

    return use(seals=seals)


def _tenant(session: Session, slug: str) -> Tenant:
    tenant = get_by_slug(session, slug)
    if tenant is None:
        raise click.ClickException(f"no tenant with slug {slug!r} (see `hookline tenants list`)")
    return tenant


@click.group()
def connections() -> None:
    """A tenant's accounts at its providers, and the secrets their webhooks are signed with."""


@connections.command("add")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
@click.option("--provider", required=True, type=click.Choice(sorted(PROVIDERS)))
@click.option("--account-id", help="The provider's id for the account (not for payments: a token is made).")
@click.option("--secret-stdin", is_flag=True, help="Read the webhook signing secret from stdin, not a prompt.")
def connections_add(slug: str, provider: str, account_id: str | None, secret_stdin: bool) -> None:
    """Connect tenant SLUG to an account at PROVIDER, with its webhook signing secret."""
    needs_account = PROVIDERS[provider] is not None
    if needs_account and not (account_id and account_id.strip()):
        raise click.UsageError(f"--account-id is required for {provider}: {PROVIDERS[provider]}")
    if not needs_account and account_id:
        raise click.UsageError(f"{provider} connections get a generated URL token; leave out --account-id")
    _use_database(seals=True)  # before the prompt: refused for want of keys, nothing is typed in vain
    secret_values = {} if provider in SIGNED_BY_US else {WEBHOOK_SECRET: _read_signing_secret(secret_stdin)}
    account = account_id.strip() if account_id else secrets.token_urlsafe(24)
    try:
        with global_session() as session:
            tenant = _tenant(session, slug)
            connection = add_connection(session, tenant.id, provider, account, secrets=secret_values)
    except TenantError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"connection {connection.id}: {slug} ← {provider} {account if needs_account else ''}".rstrip())
    if not needs_account:
        click.echo(f"webhook URL path: /webhooks/{provider}/{account}")


@connections.command("set-secret")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
@click.option("--provider", required=True, type=click.Choice(sorted(set(PROVIDERS) - SIGNED_BY_US)))
@click.option("--account-id", help="Which account, when the tenant has several at PROVIDER (default: its first).")
@click.option("--secret-stdin", is_flag=True, help="Read the new secret from stdin, not a prompt.")
def connections_set_secret(slug: str, provider: str, account_id: str | None, secret_stdin: bool) -> None:
    """Replace the webhook signing secret of tenant SLUG's connection to PROVIDER (a rotation)."""
    _use_database(seals=True)
    secret = _read_signing_secret(secret_stdin)
    with global_session() as session:
        tenant = _tenant(session, slug)
        connection = (find_connection(session, provider, account_id.strip()) if account_id
                      else tenant_connection(session, tenant.id, provider))
        if connection is None or connection.tenant_id != tenant.id:
            raise click.ClickException(f"{slug} has no such {provider} connection (`hookline tenants list`)")
        set_secret(session, connection, WEBHOOK_SECRET, secret)
    click.echo(f"replaced the webhook signing secret of connection {connection.id} ({provider} {connection.account_id})")


def _read_signing_secret(from_stdin: bool) -> str:
    # sys.stdin, not click.get_text_stream: deprecated, gone in Click 9.0.
    secret = (sys.stdin.readline() if from_stdin else click.prompt("webhook signing secret", hide_input=True)).strip()
    if not secret:
        raise click.UsageError("the webhook signing secret is empty; without one nothing would be accepted")
    return secret


@click.group()
def forms() -> None:
    """Web-form submissions (POST /webhooks/forms/{tenant_slug} with X-Api-Key)."""


@forms.command("new-key")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
def forms_new_key(slug: str) -> None:
    """Make a new forms API key for tenant SLUG (the old one stops working); printed once."""
    key = "hlf_" + secrets.token_urlsafe(32)
    _use_database(seals=True)
    with global_session() as session:
        tenant = _tenant(session, slug)
        connection = tenant_connection(session, tenant.id, "forms")
        if connection is None:
            connection = add_connection(session, tenant.id, "forms", tenant.slug)
        set_secret(session, connection, FORM_KEY_HASH, hashlib.sha256(key.encode()).hexdigest())
    click.echo(f"forms API key for {slug} (shown once; send it as X-Api-Key):")
    click.echo(key)
