"""A tenant connected to the fake GoHighLevel with a private-integration token, and reading sync_runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import func, select, text

from hookline.config import get_settings
from hookline.db import global_session, tenant_session
from hookline.integrations.auth import TokenSet
from hookline.models import Contact, SyncRun
from hookline.services import tokens
from hookline.services.tenants import tenant_connection
from tests.support.fake_ghl import FakeGHL, serve

LOCATION = "loc-sunny-001"  # the `tenant` fixture's GoHighLevel location


def connect(tenant, fake: FakeGHL) -> None:
    """Store a token the fake accepts as the tenant's GoHighLevel credentials."""
    access, _ = fake.issue(LOCATION)
    with global_session() as session:
        connection_id = tenant_connection(session, tenant.id, "ghl").id
    with tenant_session(tenant.id) as session:
        tokens.store(session, tenant.id, connection_id, "private", TokenSet(access))


def clear_limits(redis_client) -> None:
    """Forget rate-limit windows other tests left in the shared limiter's keys."""
    for key in redis_client.scan_iter("hookline:ratelimit:*"):
        redis_client.delete(key)


@contextmanager
def pointed_at(fake: FakeGHL, monkeypatch, redis_client, **settings: str) -> Iterator[str]:
    """The fake on loopback and this process's settings pointing at it (and `settings`: NAME=value)."""
    clear_limits(redis_client)
    with serve(fake.app()) as url:
        for name, value in {"GHL_API_URL": url, "GHL_BURST_LIMIT": "1000", **settings}.items():
            monkeypatch.setenv(f"HOOKLINE_{name}", value)
        get_settings.cache_clear()
        try:
            yield url
        finally:
            monkeypatch.undo()
            get_settings.cache_clear()


def sync_row(tenant, resource: str = "contacts", provider: str = "ghl") -> SyncRun | None:
    with tenant_session(tenant.id) as session:
        return session.scalars(select(SyncRun).where(SyncRun.tenant_id == tenant.id, SyncRun.provider == provider,
                                                     SyncRun.resource == resource)).one_or_none()


def stored_contacts(tenant) -> tuple[int, set[str]]:
    """(rows, distinct external ids) of the tenant's GoHighLevel contacts."""
    with tenant_session(tenant.id) as session:
        ids = session.scalars(select(Contact.external_id).where(Contact.tenant_id == tenant.id,
                                                                Contact.provider == "ghl")).all()
        count = session.scalar(select(func.count()).select_from(Contact).where(Contact.tenant_id == tenant.id))
    return count, set(ids)


def stored_ids(tenant, table: str) -> set[str]:
    """External ids of the tenant's GoHighLevel rows in `table` (each once: the key is unique)."""
    with tenant_session(tenant.id) as session:
        return set(session.scalars(text(f"SELECT external_id FROM {table} WHERE tenant_id = :t AND provider = 'ghl'"),
                                   {"t": tenant.id}))
