"""Seeding contacts and inbox events at chosen instants, and reading the rolled-up figures back."""

from __future__ import annotations

import itertools
from datetime import date, datetime

from hookline.db import global_session, tenant_session
from hookline.models import Contact, WebhookEvent
from hookline.services import reporting
from hookline.services.tenants import add_tenant

_ids = itertools.count(1)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def zoned_tenant(name: str, timezone: str):
    with global_session() as session:
        return add_tenant(session, name, timezone=timezone)


def add_contacts(tenant_id: int, *contacts: tuple[str | None, str]) -> None:
    """Contacts as (source, date_added in ISO UTC) pairs."""
    with tenant_session(tenant_id) as session:
        session.add_all(Contact(tenant_id=tenant_id, provider="ghl", external_id=f"ct-{next(_ids)}", source=source,
                                date_added=utc(added)) for source, added in contacts)


def add_events(tenant_id: int, *events: tuple[str, str, str]) -> None:
    """Inbox rows as (provider, status, received_at in ISO UTC) triples."""
    with tenant_session(tenant_id) as session:
        session.add_all(WebhookEvent(tenant_id=tenant_id, provider=provider, event_type="ContactCreate",
                                     dedupe_key=f"ev-{next(_ids)}", payload={}, status=status,
                                     received_at=utc(received)) for provider, status, received in events)


def rollup(tenant_id: int, first: date, last: date | None = None) -> reporting.RollupResult:
    with tenant_session(tenant_id) as session:
        return reporting.rollup(session, tenant_id, first, last)


def figures(tenant_id: int, first: date = date.min, last: date = date.max) -> dict[tuple[str, str, str], int]:
    """{(day, metric, dimension): count} of what the tenant's session sees."""
    with tenant_session(tenant_id) as session:
        rows = reporting.metric_rows(session, tenant_id, first, last)
    return {(day.isoformat(), metric, dimension): count for day, metric, dimension, count, _ in rows}
