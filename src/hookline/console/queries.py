"""What the console's pages read: the tenants' health, event search, an event's timeline and rows.

Tenant tables are read one tenant at a time (row-level security), as the CLI reads them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from hookline.db import global_session, tenant_session
from hookline.models import (
    Appointment,
    Connection,
    ConnectionToken,
    Contact,
    CrmTask,
    Deal,
    EventStatus,
    Note,
    ResidentialProject,
    SyncRun,
    TaskRun,
    Tenant,
    WebhookEvent,
)
from hookline.workers.backlog import tenant_health

RATE_WINDOW = timedelta(minutes=5)  # webhooks per minute: averaged over this
SEARCH_LIMIT = 200
RECORD_TABLES = (Contact, Deal, Appointment, Note, CrmTask, ResidentialProject)
RECORD_ID_KEYS = ("id", "contactId", "opportunityId", "appointmentId", "noteId", "taskId", "projectId")


class BadFilter(ValueError):
    """A search or replay filter with a bad value; the message names the field."""


@dataclass
class TenantRow:
    id: int
    slug: str
    name: str
    connection: str  # active, needs_reauth, uninstalled, none
    oldest_pending: datetime | None
    failures_last_hour: int
    dead_letters: int
    last_sync: datetime | None
    webhooks_per_minute: float

    def trouble(self, now: datetime) -> tuple:
        """Bigger is worse: a broken connection, then dead letters and failures, then the oldest backlog."""
        waiting = (now - self.oldest_pending).total_seconds() if self.oldest_pending else 0
        return (self.connection not in ("active", "none"), self.dead_letters + self.failures_last_hour, waiting)


def tenants() -> list[Tenant]:
    with global_session() as session:
        return list(session.scalars(select(Tenant).order_by(Tenant.slug)))


def tenant_by_slug(slug: str) -> Tenant:
    with global_session() as session:
        tenant = session.scalars(select(Tenant).where(Tenant.slug == slug)).one_or_none()
    if tenant is None:
        raise BadFilter(f"tenant: no tenant {slug!r}")
    return tenant


def tenant_rows(now: datetime | None = None) -> list[TenantRow]:
    """One row per tenant, the worst first (TenantRow.trouble)."""
    now = now or datetime.now(timezone.utc)
    health = {row.tenant_id: row for row in tenant_health(timedelta(hours=1))}
    with global_session() as session:
        states: dict[int, list[str]] = {}
        for tenant_id, status in session.execute(select(Connection.tenant_id, Connection.status)):
            states.setdefault(tenant_id, []).append(status)
    rows = []
    for tenant in tenants():
        with tenant_session(tenant.id) as session:
            reauth = session.scalar(select(func.count()).select_from(ConnectionToken).where(
                ConnectionToken.tenant_id == tenant.id, ConnectionToken.status == "needs_reauth"))
            last_sync = session.scalar(select(func.max(SyncRun.finished_at)).where(
                SyncRun.tenant_id == tenant.id, SyncRun.state == "idle"))
            recent = session.scalar(select(func.count()).select_from(WebhookEvent).where(
                WebhookEvent.tenant_id == tenant.id, WebhookEvent.received_at >= now - RATE_WINDOW))
        own = states.get(tenant.id, [])
        connection = "needs_reauth" if reauth else next((s for s in own if s != "active"), "active" if own else "none")
        found = health.get(tenant.id)
        rows.append(TenantRow(tenant.id, tenant.slug, tenant.name, connection,
                              found.oldest_pending if found else None, found.runs_failed if found else 0,
                              (found.dead_letters or 0) if found else 0, last_sync,
                              round((recent or 0) / (RATE_WINDOW.total_seconds() / 60), 1)))
    rows.sort(key=lambda row: row.trouble(now), reverse=True)
    return rows


@dataclass(frozen=True)
class EventFilter:
    tenant: str | None = None
    provider: str | None = None
    event_type: str | None = None
    status: str | None = None
    provider_event_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def parse(cls, values: Any) -> EventFilter:
        """From a query string or form (every field optional); BadFilter names a bad field."""
        clean: dict[str, Any] = {name: (values.get(name) or "").strip() or None for name in
                 ("tenant", "provider", "event_type", "status", "provider_event_id", "since", "until")}
        if clean["status"] is not None and clean["status"] not in {status.value for status in EventStatus}:
            raise BadFilter(f"status: {clean['status']!r} is not one of pending, processed, ignored, failed")
        for name in ("provider", "event_type", "provider_event_id", "tenant"):
            if clean[name] is not None and len(clean[name]) > 200:
                raise BadFilter(f"{name}: longer than 200 characters")
        for name in ("since", "until"):
            if clean[name] is not None:
                try:
                    moment = datetime.fromisoformat(clean[name])
                except ValueError:
                    raise BadFilter(f"{name}: {clean[name]!r} is not a date-time like 2026-12-01T08:00") from None
                clean[name] = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
        return cls(**clean)

    def as_dict(self) -> dict[str, str]:
        """The set fields as text (for the audit log, links and the job's stored filter)."""
        return {key: value.isoformat() if isinstance(value, datetime) else value
                for key, value in asdict(self).items() if value is not None}

    def where(self, tenant_id: int) -> list[Any]:
        conditions = [WebhookEvent.tenant_id == tenant_id]
        for column, value in ((WebhookEvent.provider, self.provider), (WebhookEvent.event_type, self.event_type),
                              (WebhookEvent.status, self.status), (WebhookEvent.dedupe_key, self.provider_event_id)):
            if value is not None:
                conditions.append(column == value)
        if self.since is not None:
            conditions.append(WebhookEvent.received_at >= self.since)
        if self.until is not None:
            conditions.append(WebhookEvent.received_at < self.until)
        return conditions

    def tenants(self) -> list[Tenant]:
        return [tenant_by_slug(self.tenant)] if self.tenant else tenants()


def search_events(where: EventFilter, limit: int = SEARCH_LIMIT) -> list[tuple[Tenant, WebhookEvent]]:
    """The newest `limit` matching events, across the filter's tenants (each read under its own tenant)."""
    found: list[tuple[Tenant, WebhookEvent]] = []
    for tenant in where.tenants():
        with tenant_session(tenant.id) as session:
            statement = (select(WebhookEvent).where(*where.where(tenant.id))
                         .order_by(WebhookEvent.received_at.desc(), WebhookEvent.id.desc()).limit(limit))
            found += [(tenant, event) for event in session.scalars(statement)]
    found.sort(key=lambda pair: (pair[1].received_at, pair[1].id), reverse=True)
    return found[:limit]


def count_events(where: EventFilter, *, up_to: int | None = None) -> int:
    total = 0
    for tenant in where.tenants():
        with tenant_session(tenant.id) as session:
            conditions = where.where(tenant.id)
            if up_to is not None:
                conditions.append(WebhookEvent.id <= up_to)
            total += session.scalar(select(func.count()).select_from(WebhookEvent).where(*conditions)) or 0
    return total


@dataclass
class EventPage:
    tenant: Tenant
    event: WebhookEvent
    runs: list[TaskRun]
    rows: list[tuple[str, Any]]  # (table, row) of records carrying the event's record id


def event_page(slug: str, event_id: int) -> EventPage | None:
    tenant = tenant_by_slug(slug)
    with tenant_session(tenant.id) as session:
        event = session.scalars(select(WebhookEvent).where(WebhookEvent.tenant_id == tenant.id,
                                                           WebhookEvent.id == event_id)).one_or_none()
        if event is None:
            return None
        runs = list(session.scalars(select(TaskRun).where(TaskRun.tenant_id == tenant.id, or_(
                                    TaskRun.event_id == event_id, TaskRun.event_ids.contains([event_id])))
                                    .order_by(TaskRun.started_at, TaskRun.id)))
        rows = written_rows(session, tenant.id, event)
    return EventPage(tenant, event, runs, rows)


def written_rows(session: Session, tenant_id: int, event: WebhookEvent) -> list[tuple[str, Any]]:
    """Rows mirrored from the record the event is about: same provider and the payload's record id.

    Derived, not recorded: a handler keeps no link to the event, so this is the record as it is now.
    """
    payload = event.payload if isinstance(event.payload, dict) else {}
    ids = sorted({str(payload[key]) for key in RECORD_ID_KEYS if isinstance(payload.get(key), (str, int))})
    rows: list[tuple[str, Any]] = []
    for model in RECORD_TABLES if ids else ():
        statement = select(model).where(model.tenant_id == tenant_id, model.provider == event.provider,
                                        model.external_id.in_(ids))
        rows += [(model.__tablename__, row) for row in session.scalars(statement)]
    return rows
