"""Tasks on the ghl_sync queue: GoHighLevel events into Hookline's tables, reconciliation, pushes back."""

from __future__ import annotations

import structlog
from pydantic import ValidationError
from sqlalchemy.orm import Session

from hookline.config import get_settings
from hookline.db import global_session, tenant_session
from hookline.integrations.errors import Permanent
from hookline.integrations.ghl import resources as ghl_resources
from hookline.models import Tenant
from hookline.services import api_clients, contacts, crm, ghl_app_events, ghl_connect, ghl_installs, inbox, sync_sources
from hookline.services import tenants
from hookline.tasks import reconciling
from hookline.workers.app import app
from hookline.workers.publish import publish_after_commit
from hookline.workers.retry import api_retries
from hookline.workers.tenancy import RETRY_ON_DATABASE_ERRORS, TenantTask

log = structlog.get_logger(__name__)

# PostgreSQL restarting or unreachable is retried by TenantTask's policy (workers/retry.py), with
# jittered backoff: no task here adds its own autoretry_for.
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


# Rate limits retry with the limiter's countdown (api_retries); many are expected in a backfill.
@app.task(**RETRY, bind=True, name="hookline.tasks.ghl_sync.reconcile", max_retries=100)
def reconcile(self: TenantTask, *, tenant_id: int, resource: str = "contacts") -> None:
    """A few pages of a GoHighLevel resource since the stored cursor (a backfill: many of these in turn)."""
    reconciling.reconcile_with(self, tenant_id, sync_sources.source("ghl", resource), api_clients.ghl_client)


# A system task, not a TenantTask: beat starts it with no tenant (scheduler/schedule.py).
@app.task(name="hookline.tasks.ghl_sync.reconcile_all")
def reconcile_all(stale_after: float | None = None) -> int:
    """For every tenant with a GoHighLevel connection, an incremental run of each resource (not if one is live)."""
    return reconciling.start_all("ghl", stale_after=stale_after)


# -- Marketplace installs (services/ghl_connect.py): system tasks, no tenant exists yet --

# An agency's steps wait out its Company rate limit like a backfill's pages: many retries.
INSTALL_STEP = {**RETRY_ON_DATABASE_ERRORS, "bind": True, "acks_late": True, "max_retries": 100}


@app.task(name="hookline.tasks.ghl_sync.list_installed", **INSTALL_STEP)
def list_installed(self, *, install_id: int) -> int:  # noqa: ANN001
    """One page of an agency's installed locations: each pending one gets its connect task, then the next page."""
    try:
        with api_retries(self):
            pending, more = ghl_connect.list_next_page(install_id)
    except Permanent as exc:
        ghl_installs.fail_listing(install_id, f"{type(exc).__name__}: {exc}")
        log.error("ghl.install.listing_failed", install_id=install_id, error=type(exc).__name__)
        return 0
    for location_id in pending:
        connect_location.apply_async(kwargs={"install_id": install_id, "location_id": location_id})
    if more:
        self.apply_async(kwargs={"install_id": install_id})
    return len(pending)


@app.task(name="hookline.tasks.ghl_sync.connect_location", **INSTALL_STEP)
def connect_location(self, *, install_id: int, location_id: str) -> int | None:  # noqa: ANN001
    """Mint an agency location's token, connect it as a tenant and start its first backfill."""
    try:
        with api_retries(self):
            connected = ghl_connect.connect_agency_location(install_id, location_id)
    except (Permanent, ghl_installs.InstallError) as exc:
        ghl_installs.mark_location_failed(location_id, f"{type(exc).__name__}: {exc}")
        log.error("ghl.install.location_failed", install_id=install_id, error=type(exc).__name__)
        return None
    if connected is None:
        return None
    reconciling.start_backfill(connected.tenant_id, "ghl")
    return connected.tenant_id


@app.task(name="hookline.tasks.ghl_sync.apply_app_event", **RETRY_ON_DATABASE_ERRORS)
def apply_app_event(*, app_event_id: int) -> None:
    """An INSTALL or UNINSTALL webhook (services/ghl_app_events.py)."""
    follow_up = ghl_app_events.apply(app_event_id)
    if follow_up is not None:
        connect_location.apply_async(kwargs={"install_id": follow_up[0], "location_id": follow_up[1]})


@app.task(name="hookline.tasks.ghl_sync.resume_installs")
def resume_installs(stale_after: float | None = None) -> int:
    """Beat: install steps and app events whose task was lost (a crash, the broker away) are sent again."""
    stale = get_settings().ghl_install_stale_seconds if stale_after is None else stale_after
    with global_session() as session:
        listings, locations = ghl_installs.stalled(session, stale)
        events = ghl_app_events.pending_since(session, stale)
    for install_id in listings:
        list_installed.apply_async(kwargs={"install_id": install_id})
    for install_id, location_id in locations:
        connect_location.apply_async(kwargs={"install_id": install_id, "location_id": location_id})
    for event_id in events:
        apply_app_event.apply_async(kwargs={"app_event_id": event_id})
    sent = len(listings) + len(locations) + len(events)
    if sent:
        log.warning("ghl.install.resumed", listings=len(listings), locations=len(locations), events=len(events))
    return sent


@app.task(**RETRY, bind=True, name="hookline.tasks.ghl_sync.follow_location")
def follow_location(self: TenantTask, *, tenant_id: int, event_id: int) -> None:
    """LocationUpdate: the tenant's name and time zone follow its location's (the API's when the body has none)."""
    with tenant_session(tenant_id) as session:
        event = inbox.get(session, tenant_id, event_id)
        if event is None or event.status != "pending":
            return
        payload = event.payload
    timezone = payload.get("timezone")
    if not timezone:
        try:
            with api_retries(self):
                timezone = api_clients.ghl_client(tenant_id).get_location().timezone
        except Permanent as exc:  # uninstalled, or refused: the name still follows
            log.warning("ghl.location.timezone_unread", error=type(exc).__name__)
    with tenant_session(tenant_id) as session:
        if inbox.take(session, tenant_id, event_id) is None:
            return
        tenant = session.get(Tenant, tenant_id)
        tenants.follow(tenant, name=payload.get("name"), timezone=timezone)
    log.info("ghl.location.followed", event_id=event_id)


# -- outbound: a local change pushed to GoHighLevel --


@app.task(**RETRY, bind=True, name="hookline.tasks.ghl_sync.push_contact", max_retries=20)
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


def queue_pushes(session: Session, tenant_id: int) -> int:
    """Publish push_contact, after `session` commits, for each contact a service recorded for a push."""
    pushes = contacts.take_pushes(session)
    for contact_id in pushes:
        publish_after_commit(session, push_contact.name, tenant_id=tenant_id, contact_id=contact_id)
    return len(pushes)


PUSHED_FIELDS = ("email", "phone", "first_name", "last_name", "name", "company_name", "address1", "city", "state",
                 "postal_code", "country", "website", "tags")
