"""Tasks on the ghl_sync queue: GoHighLevel events into Hookline's tables, reconciliation, pushes back."""

from __future__ import annotations

from collections.abc import Callable

import structlog
from pydantic import ValidationError
from sqlalchemy.orm import Session

from hookline.config import get_settings
from hookline.db import global_session, tenant_session
from hookline.integrations import storage
from hookline.integrations.errors import Permanent
from hookline.integrations.ghl.client import GHLClient
from hookline.models import CrmPush, Tenant
from hookline.scheduler.schedule import TICK_EVENTS
from hookline.services import (
    api_clients,
    billing,
    crm,
    ghl_app_events,
    ghl_connect,
    ghl_installs,
    inbox,
    pushes,
    records,
    sync_sources,
    tenants,
)
from hookline.tasks import reconciling
from hookline.tasks.inbox_task import BatchHandler, InboxHandler, run_many, run_one
from hookline.transport.publish import publish_after_commit
from hookline.workers.app import app
from hookline.workers.retry import Retrying, api_retries
from hookline.workers.tenancy import TenantTask

log = structlog.get_logger(__name__)

# PostgreSQL restarting or unreachable is retried by TenantTask's policy (workers/retry.py), with
# jittered backoff: no task declares autoretry_for.
RETRY = {"base": TenantTask}


def _failure(exc: Exception) -> str:
    return f"invalid payload: {exc}" if isinstance(exc, ValidationError) else str(exc)


def _apply(session: Session, tenant_id: int, event: inbox.Taken) -> crm.Outcome:
    return crm.apply_ghl(session, tenant_id, event.event_type, event.payload, received_at=event.received_at)


# The event's type says what it does (integrations/ghl/schemas.EVENTS); services/records.py keeps
# the order: an older change than the row's, or a duplicate, is dropped, not an error. A body that
# will never parse, or a type no longer handled, is kept `failed` for an operator; the reason,
# with the body's values in it, stays in the inbox row: no contact data in logs. A commit a
# PostgreSQL crash loses takes its mark with it: the sweeper publishes the event again.
EVENT = InboxHandler("ghl.event", _apply, (ValidationError, crm.NotHandled), _failure, redone_from_inbox=True)


def _apply_event(*, tenant_id: int, event_id: int) -> None:
    """Any handled GoHighLevel event: take the inbox row, apply the change, mark it processed."""
    outcome = run_one(EVENT, tenant_id, event_id)
    if outcome is not None:
        log.info("ghl.event.applied" if outcome.row_id else "ghl.event.dropped", event_id=event_id,
                 record=outcome.record, external_id=outcome.external_id, row_id=outcome.row_id,
                 version=outcome.version.isoformat())


apply_event = app.task(name="hookline.tasks.ghl_sync.apply_event", **RETRY)(_apply_event)
# The name ContactCreate / ContactUpdate were published under before apply_event served every
# event: messages already on the broker still find their task.
upsert_contact = app.task(name="hookline.tasks.ghl_sync.upsert_contact", **RETRY)(_apply_event)


def _change(event: inbox.Taken) -> tuple[str, records.Change]:
    return crm.ghl_change(event.event_type, event.payload, received_at=event.received_at)


EVENTS = BatchHandler("ghl.events", apply_event.name, _change, crm.apply_ghl_many,
                      (ValidationError, crm.NotHandled), _failure)


@app.task(**RETRY, bind=True, name="hookline.tasks.ghl_sync.apply_events")
def apply_events(self: TenantTask, *, tenant_id: int, event_ids: list[int]) -> int:
    """`apply_event` for many events of one tenant (transport/batches.py): one transaction, set-based."""
    return run_many(EVENTS, tenant_id, event_ids, task_id=self.request.id or "").taken


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

# An agency's steps wait out its Company rate limit like a backfill's pages: many retries. System
# tasks (no tenant yet), retried by the same policy as every TenantTask (workers/retry.py).
INSTALL_STEP = {"base": Retrying, "bind": True, "acks_late": True, "max_retries": 100}


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


@app.task(name="hookline.tasks.ghl_sync.apply_app_event", base=Retrying)
def apply_app_event(*, app_event_id: int) -> None:
    """An INSTALL or UNINSTALL webhook (services/ghl_app_events.py)."""
    follow_up = ghl_app_events.apply(app_event_id)
    if follow_up is not None:
        connect_location.apply_async(kwargs={"install_id": follow_up[0], "location_id": follow_up[1]})


@app.task(name="hookline.tasks.ghl_sync.resume_installs", send_events=TICK_EVENTS)  # every minute
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
        tenant = session.get_one(Tenant, tenant_id)
        tenants.follow(tenant, name=payload.get("name"), timezone=timezone)
    log.info("ghl.location.followed", event_id=event_id)


# -- outbound: changes pushed back to GoHighLevel (services/pushes.py) --


@app.task(**RETRY, bind=True, name="hookline.tasks.ghl_sync.push_dunning_tag", max_retries=20)
def push_dunning_tag(self: TenantTask, *, tenant_id: int, push_id: int) -> str | None:
    """Set or clear `hookline:dunning-suspended` on the customer's GoHighLevel contact, as the customer
    stands now (not as the push's trigger said): a late or rerun push converges on the truth, and
    adding or removing a tag twice changes nothing."""
    with tenant_session(tenant_id) as session:
        push = _claim(session, tenant_id, push_id)
        if push is None:
            return None
        contact_id = pushes.customer_contact(session, tenant_id, push.subject_id)
        if contact_id is None:
            _skip(push, "the customer's email matches no GoHighLevel contact")
            return None
        suspended = billing.is_suspended(session, tenant_id, push.subject_id)

        def tag(client: GHLClient) -> str:
            if suspended:
                client.add_tags(contact_id, [pushes.SUSPENDED_TAG])
                return "tagged"
            client.remove_tags(contact_id, [pushes.SUSPENDED_TAG])
            return "untagged"

        return _send(self, push, contact_id, tag)


@app.task(**RETRY, bind=True, name="hookline.tasks.ghl_sync.push_recording_note", max_retries=20)
def push_recording_note(self: TenantTask, *, tenant_id: int, push_id: int) -> str | None:
    """A note with the stored recording's link on its GoHighLevel contact, once: the contact's notes
    are read first, and one carrying the recording's marker (an earlier run's) is taken as done."""
    with tenant_session(tenant_id) as session:
        push = _claim(session, tenant_id, push_id)
        if push is None:
            return None
        recording = pushes.recording(session, tenant_id, push.subject_id)
        if recording is None or not recording.contact_external_id:
            _skip(push, "the recording names no GoHighLevel contact")
            return None
        contact_id, marker = recording.contact_external_id, pushes.note_marker(recording.id)
        text = pushes.note_text(recording, storage.link(get_settings(), recording.object_key))

        def note(client: GHLClient) -> str:
            earlier = next((n for n in client.notes(contact_id) if marker in (n.body or "")), None)
            return (earlier or client.create_note(contact_id, text)).id

        return _send(self, push, contact_id, note)


def _claim(session: Session, tenant_id: int, push_id: int) -> CrmPush | None:
    push = pushes.claim(session, tenant_id, push_id)
    if push is None:
        log.info("ghl.push.skipped", push_id=push_id, reason="not pending")
    elif not pushes.enabled(session, tenant_id):  # switched off (or disconnected) since it was queued
        _skip(push, "pushes are off for this tenant, or it has no active GoHighLevel connection")
        return None
    return push


def _send(task: TenantTask, push: CrmPush, contact_id: str, call: Callable[[GHLClient], str]) -> str | None:
    """`call` with the tenant's client, built through its connection's credentials (so whatever stops a
    connection's API work stops this too). A refusal fails the push for an operator; rate limits and
    passing errors retry the task (its transaction, the claim included, rolls back)."""
    push.contact_external_id = contact_id
    try:
        with api_retries(task):
            result = call(api_clients.ghl_client(push.tenant_id))
    except Permanent as exc:
        error = f"{type(exc).__name__}: {exc}"
        pushes.finish(push, "failed", error=error)
        log.error("ghl.push.failed", push_id=push.id, kind=push.kind, error=error[:300])
        return None
    return _done(push, result)


def _skip(push: CrmPush, reason: str) -> None:
    pushes.finish(push, "skipped", error=reason)
    log.info("ghl.push.skipped", push_id=push.id, kind=push.kind, reason=reason)


def _done(push: CrmPush, result: str) -> str:
    pushes.finish(push, "done", result=result)
    log.info("ghl.push.done", push_id=push.id, kind=push.kind, contact=push.contact_external_id, result=result)
    return result


TASKS = {pushes.DUNNING_TAG: push_dunning_tag.name, pushes.RECORDING_NOTE: push_recording_note.name}


def queue_pushes(session: Session, tenant_id: int) -> int:
    """Publish, after `session` commits, the task of each push a service recorded in it."""
    requested = pushes.take_requested(session)
    for kind, push_id in requested:
        publish_after_commit(session, TASKS[kind], tenant_id=tenant_id, push_id=push_id)
    return len(requested)
