"""Tasks on the ghl_sync queue: GoHighLevel events into Hookline's tables, reconciliation, pushes back."""

from __future__ import annotations

import structlog
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from hookline.config import get_settings
from hookline.db import global_session, tenant_session
from hookline.integrations.errors import Permanent
from hookline.integrations.ghl import resources as ghl_resources
from hookline.models import Connection
from hookline.services import api_clients, contacts, crm, inbox, sync, sync_sources
from hookline.workers.app import app
from hookline.workers.publish import publish_after_commit
from hookline.workers.retries import api_retries
from hookline.workers.tenancy import TenantTask

log = structlog.get_logger(__name__)

# PostgreSQL restarting or unreachable is retried by TenantTask's policy (workers/retry.py).
RETRY = {"base": TenantTask}


def _apply_event(*, tenant_id: int, event_id: int) -> None:
    """Any handled GoHighLevel event: claim the inbox row, apply the change, mark it processed.

    The event's type says what it does (integrations/ghl/schemas.EVENTS); services/records.py
    keeps the order: an older change than the row's, or a duplicate, is dropped, not an error.
    """
    try:
        # A commit a PostgreSQL crash loses takes its mark with it: the sweeper publishes the event again.
        with tenant_session(tenant_id, redone_from_inbox=True) as session:
            event = inbox.take(session, tenant_id, event_id)  # marked processed if the change commits
            if event is None:  # already processed, or a twin delivery holds it: at-least-once
                log.info("ghl.event.skipped", event_id=event_id)
                return
            outcome = crm.apply_ghl(session, tenant_id, event.event_type, event.payload, received_at=event.received_at)
    except (ValidationError, crm.NotHandled) as exc:  # will never parse, or no longer handled: keep it for an operator
        invalid = isinstance(exc, ValidationError)
        with tenant_session(tenant_id) as session:
            inbox.mark_failed(session, tenant_id, event_id, f"invalid payload: {exc}" if invalid else str(exc))
        # The reason, with the body's values in it, stays in the inbox row: no contact data in logs.
        log.error("ghl.event.failed", event_id=event_id, why="invalid_payload" if invalid else "no_handler")
        return
    log.info("ghl.event.applied" if outcome.row_id else "ghl.event.dropped", event_id=event_id, record=outcome.record,
             external_id=outcome.external_id, row_id=outcome.row_id, version=outcome.version.isoformat())


apply_event = app.task(name="hookline.tasks.ghl_sync.apply_event", **RETRY)(_apply_event)
# The name ContactCreate / ContactUpdate were published under before apply_event served every
# event: messages already on the broker still find their task.
upsert_contact = app.task(name="hookline.tasks.ghl_sync.upsert_contact", **RETRY)(_apply_event)


# -- reconciliation: the API read page by page into the tables (docs/architecture.md) --


def run_pages(tenant_id: int, src: sync_sources.Source, client: object, max_pages: int, page_limit: int) -> bool:
    """Read up to `max_pages` pages; each page's upserts and its cursor commit together.

    True when there are more pages to read. False when caught up, or when the row is not
    ours to read (another task holds its lock, or it is no longer `running`).
    """
    for _ in range(max_pages):
        with tenant_session(tenant_id) as session:
            row = sync.find(session, tenant_id, src.provider, src.resource, lock=True)
            if row is None or row.state != sync.RUNNING:
                return False
            page = src.read(client, row.cursor, page_limit)
            for item in page.items:
                src.store(session, tenant_id, item)
            sync.advance(row, page)
        log.info("sync.page", provider=src.provider, resource=src.resource, rows=len(page.items), done=page.done)
        if page.done:
            return False
    return True


def reconcile_with(task: TenantTask, tenant_id: int, src: sync_sources.Source, make_client) -> None:  # noqa: ANN001
    """The body of a provider's reconcile task: a bounded run, then itself again for the next pages."""
    settings = get_settings()
    try:
        with api_retries(task):  # a retry starts from the cursor of the last committed page
            more = run_pages(tenant_id, src, make_client(tenant_id), settings.sync_pages_per_task,
                             settings.sync_page_limit)
    except Permanent as exc:  # AuthExpired, NotFound, refused: an operator must act; no retry
        with tenant_session(tenant_id) as session:
            sync.fail(session, tenant_id, src.provider, src.resource, f"{type(exc).__name__}: {exc}")
        log.error("sync.failed", provider=src.provider, resource=src.resource, error=type(exc).__name__)
        return
    if more:
        task.apply_async(kwargs={"tenant_id": tenant_id, "resource": src.resource})


@app.task(
    base=TenantTask,
    bind=True,
    name="hookline.tasks.ghl_sync.reconcile",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=100,  # rate limits retry with the provider's countdown; they are expected in a backfill
)
def reconcile(self: TenantTask, *, tenant_id: int, resource: str = "contacts") -> None:
    """A few pages of a GoHighLevel resource since the stored cursor (a backfill: many of these in turn)."""
    reconcile_with(self, tenant_id, sync_sources.source("ghl", resource), api_clients.ghl_client)


def start_sync(tenant_id: int, provider: str, resource: str, *, full: bool = False,
               stale_after: float | None = None) -> str:
    """Start (or resume a stalled) run and publish its first task after commit; `busy`: left alone."""
    src = sync_sources.source(provider, resource)
    stale = get_settings().sync_stale_seconds if stale_after is None else stale_after
    with tenant_session(tenant_id) as session:
        outcome = sync.start(session, tenant_id, provider, resource, full=full, stale_after=stale)
        if outcome != "busy":
            publish_after_commit(session, src.task, tenant_id=tenant_id, resource=resource)
    return outcome


# A system task, not a TenantTask: beat starts it with no tenant (scheduler/schedule.py).
@app.task(name="hookline.tasks.ghl_sync.reconcile_all")
def reconcile_all(stale_after: float | None = None) -> int:
    """For every tenant with a GoHighLevel connection, an incremental run of each resource (not if one is live)."""
    with global_session() as session:
        tenant_ids = session.scalars(select(Connection.tenant_id).where(Connection.provider == "ghl")
                                     .distinct().order_by(Connection.tenant_id)).all()
    started = 0
    for tenant_id in tenant_ids:
        for provider, resource in sync_sources.SOURCES:
            if provider == "ghl" and start_sync(tenant_id, provider, resource, stale_after=stale_after) != "busy":
                started += 1
    log.info("sync.reconcile_all", tenants=len(tenant_ids), started=started)
    return started


# -- outbound: a local change pushed to GoHighLevel --


@app.task(
    base=TenantTask,
    bind=True,
    name="hookline.tasks.ghl_sync.push_contact",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=20,
)
def push_contact(self: TenantTask, *, tenant_id: int, contact_id: int) -> str | None:
    """Send the contact's current fields with `POST /contacts/upsert`: repeating it changes nothing.

    The upsert matches by the location's duplicate rule (email or phone), so a contact with
    neither is not pushed (a create could not be told from a repeat). Returns the CRM's id.
    """
    with tenant_session(tenant_id) as session:
        contact = contacts.get(session, tenant_id, contact_id)
        if contact is None or not (contact.email or contact.phone):
            log.warning("ghl.push.skipped", contact_id=contact_id, reason="missing" if contact is None else "no email or phone")
            return None
        fields = {name: getattr(contact, name) for name in PUSHED_FIELDS}
        external_id = contact.external_id
    try:
        with api_retries(self):
            client = api_clients.ghl_client(tenant_id)
            result = client.upsert_contact(ghl_resources.ContactIn(location_id=client.location_id, **fields))
    except Permanent as exc:
        log.error("ghl.push.failed", contact_id=contact_id, error=f"{type(exc).__name__}: {exc}")
        return None
    if result.contact.id != external_id:
        log.warning("ghl.push.matched_other", contact_id=contact_id, crm_id=result.contact.id)
    log.info("ghl.push.done", contact_id=contact_id, crm_id=result.contact.id, new=result.new)
    return result.contact.id


PUSHED_FIELDS = ("email", "phone", "first_name", "last_name", "name", "company_name", "address1", "city", "state",
                 "postal_code", "country", "website", "tags")
