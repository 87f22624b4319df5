"""Tasks on the ghl_sync queue: GoHighLevel events into Hookline's tables."""

from __future__ import annotations

import structlog
from pydantic import ValidationError

from hookline.db import tenant_session
from hookline.services import contacts, inbox
from hookline.workers.app import app
from hookline.workers.tenancy import TenantTask

log = structlog.get_logger(__name__)


# PostgreSQL restarting or unreachable is retried by TenantTask's policy (workers/retry.py).
@app.task(base=TenantTask, name="hookline.tasks.ghl_sync.upsert_contact")
def upsert_contact(*, tenant_id: int, event_id: int) -> None:
    """ContactCreate / ContactUpdate: upsert the contact, mark the inbox row processed."""
    try:
        with tenant_session(tenant_id) as session:
            event = inbox.claim(session, tenant_id, event_id)
            if event is None:  # already processed, or a twin delivery holds it: at-least-once
                log.info("ghl.contact.skipped", event_id=event_id)
                return
            contact = contacts.upsert(session, tenant_id, contacts.ContactData.from_ghl(event.payload))
            inbox.mark_processed(session, event)
    except ValidationError as exc:  # the payload will never parse: do not retry, keep it for an operator
        with tenant_session(tenant_id) as session:
            inbox.mark_failed(session, tenant_id, event_id, f"invalid contact payload: {exc}")
        log.error("ghl.contact.invalid_payload", event_id=event_id, errors=exc.error_count())
        return
    log.info("ghl.contact.upserted", event_id=event_id, contact_id=contact.id, external_id=contact.external_id)
