"""Tasks on the reonic_sync queue: Reonic webhooks carry ids only, so each handler fetches current state."""

from __future__ import annotations

import structlog
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from hookline.db import tenant_session
from hookline.integrations.errors import Permanent
from hookline.integrations.reonic.schemas import ContactEvent
from hookline.services import api_clients, contacts, inbox
from hookline.workers.app import app
from hookline.workers.retry import api_retries
from hookline.workers.tenancy import TenantTask

log = structlog.get_logger(__name__)


@app.task(
    base=TenantTask,
    bind=True,
    name="hookline.tasks.reonic_sync.fetch_contact",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=20,
)
def fetch_contact(self: TenantTask, *, tenant_id: int, event_id: int) -> None:
    """contact_created: GET the contact from Reonic, upsert it (provider `reonic`), mark the event processed.

    The event is claimed, the contact fetched and stored, and the event marked in one transaction:
    a rate limit or an outage rolls the claim back and the retry finds the event pending again.
    """
    try:
        with api_retries(self), tenant_session(tenant_id) as session:
            event = inbox.claim(session, tenant_id, event_id)
            if event is None:  # processed already, or a twin delivery holds it
                log.info("reonic.contact.skipped", event_id=event_id)
                return
            contact_id = ContactEvent.model_validate(event.payload).data.contact_id
            found = api_clients.reonic_client(tenant_id).get_contact(contact_id)
            row = contacts.upsert(session, tenant_id, contacts.ContactData.from_reonic(found))
            inbox.mark_processed(session, event)
    except (ValidationError, Permanent) as exc:  # never parses / gone / refused: keep it for an operator
        reason = f"invalid contact event: {exc}" if isinstance(exc, ValidationError) else f"{type(exc).__name__}: {exc}"
        with tenant_session(tenant_id) as session:
            inbox.mark_failed(session, tenant_id, event_id, reason)
        log.error("reonic.contact.failed", event_id=event_id, error=type(exc).__name__)
        return
    log.info("reonic.contact.upserted", event_id=event_id, contact_id=row.id, external_id=row.external_id)
