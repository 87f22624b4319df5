"""Tenants and their provider connections."""

from __future__ import annotations

import re
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hookline.models import Connection, Tenant

RowT = TypeVar("RowT", Tenant, Connection)


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
    tenant = _insert(session, Tenant(name=name, slug=slug, timezone=timezone), f"a tenant with slug {slug!r} already exists")
    if ghl_location_id:
        add_connection(session, tenant.id, "ghl", ghl_location_id)
    return tenant


def add_connection(session: Session, tenant_id: int, provider: str, account_id: str) -> Connection:
    connection = Connection(tenant_id=tenant_id, provider=provider, account_id=account_id.strip())
    return _insert(session, connection, f"{provider} account {account_id!r} is already connected to a tenant")


def _insert(session: Session, row: RowT, duplicate_message: str) -> RowT:
    """Flush one new row in a savepoint; a unique-constraint clash becomes a TenantError."""
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise TenantError(duplicate_message) from None
    return row


def find_connection(session: Session, provider: str, account_id: str) -> Connection | None:
    """The active connection for a provider's own account id (e.g. a GHL locationId)."""
    return session.scalars(
        select(Connection).where(
            Connection.provider == provider, Connection.account_id == account_id, Connection.status == "active"
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
