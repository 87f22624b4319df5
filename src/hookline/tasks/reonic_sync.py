"""Tasks on the reonic_sync queue: Reonic webhooks carry ids only, so each handler fetches current state;
and the reconciliation of a Reonic account, page by page (the same code as GoHighLevel's)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from pydantic import BaseModel, ValidationError

from hookline.integrations.errors import NotFound, Permanent
from hookline.integrations.reonic import schemas
from hookline.integrations.reonic.client import ReonicClient
from hookline.integrations.reonic.records import ReonicContact, ReonicRecord, ResidentialProject, SignatureRequest
from hookline.services import api_clients, crm, inbox, sync_sources
from hookline.tasks.inbox_task import InboxHandler, run_one
from hookline.tasks.reconciling import reconcile_with, start_all
from hookline.workers.app import app
from hookline.workers.retry import api_retries
from hookline.workers.tenancy import TenantTask

log = structlog.get_logger(__name__)

# PostgreSQL restarting or unreachable is retried by TenantTask's policy (workers/retry.py).
RETRY: dict[str, Any] = {"base": TenantTask, "bind": True}

Read = Callable[[ReonicClient, Any], BaseModel]

# What an event is about → how to read its current state, and what that becomes. Fresh reads
# (no cache): the event says the object just changed, and a cached copy may be an hour old.
READERS: dict[str, tuple[Read, type[ReonicRecord]]] = {
    "contact": (lambda client, ids: client.get_contact(ids.contact_id, fresh=True), ReonicContact),
    "project": (lambda client, ids: client.get_project(ids.project_id, fresh=True), ResidentialProject),
    "offer": (lambda client, ids: client.signature_request(ids.project_id, ids.signature_request_id, fresh=True),
              SignatureRequest),
}


def mirrored(model: type[ReonicRecord], found: BaseModel) -> ReonicRecord:
    """An API object (integrations/reonic/resources.py, every field kept) as the record Hookline stores."""
    return model.model_validate(found.model_dump(by_alias=True))


def read_and_apply(session: Any, tenant_id: int, record: str, ids: schemas.Ids) -> crm.Outcome:
    """GET the object, apply it under the ordering rule; a 404 means it is gone: a delete (no ghost)."""
    read, model = READERS[record]
    try:
        found = read(api_clients.reonic_client(tenant_id), ids)
    except NotFound:
        return crm.apply_reonic_gone(session, tenant_id, record, ids.external_id, at=datetime.now(UTC))
    return crm.apply_reonic(session, tenant_id, mirrored(model, found))


def _read(session: Any, tenant_id: int, event: inbox.Taken) -> crm.Outcome | None:
    kind = schemas.EVENTS.get(event.event_type)
    if kind is None:
        raise crm.NotHandled(f"no handler for reonic {event.event_type}")
    ids = kind.schema.model_validate(event.payload).data
    if getattr(ids, "project_type", "residential") != "residential":  # no commercial projects here
        inbox.mark_ignored(session, tenant_id, event.id)
        log.info("reonic.event.ignored", event_id=event.id, event_type=event.event_type)
        return None
    return read_and_apply(session, tenant_id, kind.record, ids)


def _failure(exc: Exception) -> str:
    return f"invalid event: {exc}" if isinstance(exc, ValidationError) else f"{type(exc).__name__}: {exc}"


# Never parses, or the API refused: kept `failed` for an operator.
EVENT = InboxHandler("reonic.event", _read, (ValidationError, crm.NotHandled, Permanent), _failure)


def _fetch(self: TenantTask, *, tenant_id: int, event_id: int) -> None:
    """Any handled Reonic event: take it, read what it names from the API, apply it.

    Take (claim and mark processed), read and apply are one transaction: a rate limit or an outage rolls the claim
    back, and the retry finds the event pending again. An archived project is read like any
    other and kept with its `archived_at` (it is still a deal that was won or lost).
    """
    outcome = run_one(EVENT, tenant_id, event_id, around=api_retries(self))
    if outcome is not None:
        log.info("reonic.event.applied" if outcome.row_id else "reonic.event.dropped", event_id=event_id,
                 record=outcome.record, external_id=outcome.external_id, row_id=outcome.row_id,
                 version=outcome.version.isoformat())


fetch = app.task(name="hookline.tasks.reonic_sync.fetch", **RETRY)(_fetch)
# The name contact_created was published under before `fetch` served every event: messages
# already on the broker still find their task.
fetch_contact = app.task(name="hookline.tasks.reonic_sync.fetch_contact", **RETRY)(_fetch)


# -- reconciliation: services/sync_sources.py says what is read; tasks/ghl_sync.py how --


@app.task(name="hookline.tasks.reonic_sync.reconcile", max_retries=100, **RETRY)  # rate limits are expected
def reconcile(self: TenantTask, *, tenant_id: int, resource: str = "contacts") -> None:
    """A few pages of a Reonic resource since the stored cursor (a backfill: many of these in turn)."""
    reconcile_with(self, tenant_id, sync_sources.source("reonic", resource), api_clients.reonic_client)


# A system task, not a TenantTask: beat starts it with no tenant (scheduler/schedule.py).
@app.task(name="hookline.tasks.reonic_sync.reconcile_all")
def reconcile_all(stale_after: float | None = None) -> int:
    """For every tenant with a Reonic connection, an incremental run of each Reonic resource (not if one is live)."""
    return start_all("reonic", stale_after=stale_after)
