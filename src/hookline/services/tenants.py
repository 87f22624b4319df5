"""Tenants and their provider connections."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import structlog
from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from hookline.config import email_address
from hookline.models import Connection, Tenant
from hookline.secrets_box import SecretBoxError, reseal_values, seal_values, unseal_values
from hookline.services.rows import insert_new

log = structlog.get_logger(__name__)


ACTIVE, UNINSTALLED = "active", "uninstalled"  # connections.status


class TenantError(ValueError):
    """A tenant or connection request that cannot be honoured (duplicate, bad name)."""


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if not slug:
        raise TenantError(f"tenant name {name!r} has no letters or digits")
    return slug[:100]


def add_tenant(session: Session, name: str, *, ghl_location_id: str | None = None, timezone: str = "UTC") -> Tenant:
    """Create a tenant and, when given, its GoHighLevel connection. Refuses duplicates."""
    name = name.strip()
    slug = slugify(name)
    tenant = insert_new(session, Tenant(name=name, slug=slug, timezone=timezone),
                        TenantError(f"a tenant with slug {slug!r} already exists"))
    if ghl_location_id:
        add_connection(session, tenant.id, "ghl", ghl_location_id)
    return tenant


def add_connection(
    session: Session, tenant_id: int, provider: str, account_id: str, *, secrets: dict[str, Any] | None = None
) -> Connection:
    """A new connection; its `secrets` are stored sealed (secrets_box), never in plaintext."""
    connection = Connection(tenant_id=tenant_id, provider=provider, account_id=account_id.strip(),
                            secrets=seal_values(secrets or {}))
    return insert_new(session, connection,
                      TenantError(f"{provider} account {account_id!r} is already connected to a tenant"))


def find_connection(session: Session, provider: str, account_id: str) -> Connection | None:
    """The active connection for a provider's own account id (e.g. a GHL locationId)."""
    return session.scalars(
        select(Connection).where(
            Connection.provider == provider, Connection.account_id == account_id, Connection.status == ACTIVE
        )
    ).one_or_none()


def list_tenants(session: Session) -> list[tuple[Tenant, list[Connection]]]:
    tenants = session.scalars(select(Tenant).order_by(Tenant.id)).all()
    connections = session.scalars(select(Connection).order_by(Connection.id)).all()
    by_tenant: dict[int, list[Connection]] = {}
    for connection in connections:
        by_tenant.setdefault(connection.tenant_id, []).append(connection)
    return [(tenant, by_tenant.get(tenant.id, [])) for tenant in tenants]


def get_by_slug(session: Session, slug: str) -> Tenant | None:
    return session.scalars(select(Tenant).where(Tenant.slug == slug)).one_or_none()


def set_secret(session: Session, connection: Connection, name: str, value: str) -> None:
    """Store (or replace) one named secret on a connection, sealed."""
    connection.secrets = {**(connection.secrets or {}), **seal_values({name: value})}


def connection_secrets(connection: Connection) -> dict[str, Any]:
    """A connection's secrets in plaintext (SecretBoxError when no configured key opens them)."""
    return unseal_values(connection.secrets or {})


def provider_secrets(session: Session, provider: str, name: str) -> list[Any]:
    """One named secret of every active connection to `provider` (Zoom's URL validation names no account)."""
    stored = session.execute(
        select(Connection.id, Connection.secrets).where(
            Connection.provider == provider, Connection.status == "active", Connection.secrets.has_key(name)
        )
    )
    found = []
    for connection_id, secrets in stored:
        try:
            found.append(unseal_values({name: secrets[name]})[name])
        except SecretBoxError:  # one connection sealed under a dropped key must not shut out the others
            log.error("connection.secret_unreadable", connection_id=connection_id, provider=provider, secret=name)
    return found


def reencrypt_secrets(session: Session, tenant_id: int) -> int:
    """Re-seal a tenant's connection secrets under the newest key (after a rotation); returns connections."""
    connections = session.scalars(select(Connection).where(Connection.tenant_id == tenant_id)).all()
    for connection in connections:
        if connection.secrets:
            connection.secrets = reseal_values(connection.secrets)
    return sum(1 for connection in connections if connection.secrets)


def free_slug(session: Session, name: str, suffix: str) -> str:
    """`slugify(name)`, or with `-suffix` when another tenant has that slug (two locations of one name)."""
    slug = slugify(name)
    if get_by_slug(session, slug) is None:
        return slug
    return slugify(f"{slug[:80]}-{suffix}")


@lru_cache(maxsize=1)
def known_timezones() -> frozenset[str]:
    """IANA zone names (read from disk once: ~50 ms, and an agency install asks 300 times)."""
    from zoneinfo import available_timezones

    return frozenset(available_timezones())


def follow(tenant: Tenant, *, name: str | None, timezone: str | None) -> None:
    """The tenant's name and time zone as its GoHighLevel location now has them (blank or unknown: unchanged)."""
    if name and name.strip():
        tenant.name = " ".join(name.split())[:200]
    if timezone and timezone in known_timezones():
        tenant.timezone = timezone


def purge(session: Session, tenant: Tenant) -> None:
    """Delete the tenant and, by the foreign keys' ON DELETE CASCADE, every row of its data."""
    session.delete(tenant)
    session.flush()


def tenant_connection(session: Session, tenant_id: int, provider: str) -> Connection | None:
    """A tenant's (first) connection to `provider`, an active one before any other (an uninstalled one stays)."""
    return session.scalars(
        select(Connection).where(Connection.tenant_id == tenant_id, Connection.provider == provider)
        .order_by(Connection.status != ACTIVE, Connection.id)
    ).first()


def set_sender(session: Session, tenant: Tenant, *, name: str | None, reply_to: str | None) -> None:
    """The tenant's email From display name and Reply-To address; None (or empty) clears one."""
    name = " ".join((name or "").split()) or None  # one line: it goes into a header
    try:
        reply_to = email_address(reply_to) if reply_to and reply_to.strip() else None
    except ValueError as exc:
        raise TenantError(f"--reply-to: {exc}") from None
    if name is not None and len(name) > 200:
        raise TenantError("the sender name is longer than 200 characters")
    tenant.email_sender_name, tenant.email_reply_to = name, reply_to


def rewrite_all_secrets(bind: Any, transform: Any) -> int:
    """`transform` (seal_values / unseal_values) over every connection's secrets, on a Core connection
    (migration 0015, as the table owner); rows it leaves unchanged are not written. Returns rows written."""
    rows = bind.execute(text("SELECT id, secrets FROM connections WHERE secrets <> '{}'::jsonb ORDER BY id")).all()
    update = text("UPDATE connections SET secrets = :secrets WHERE id = :id").bindparams(
        bindparam("secrets", type_=JSONB))
    written = 0
    for connection_id, secrets in rows:
        changed = transform(secrets)
        if changed != secrets:
            bind.execute(update, {"id": connection_id, "secrets": changed})
            written += 1
    return written


def seal_plaintext_secrets(bind: Any) -> int:
    """Seal every plaintext value in connections.secrets (sealed ones are left alone)."""
    return rewrite_all_secrets(bind, seal_values)
