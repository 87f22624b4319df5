"""Tasks on the ghl_sync queue: GoHighLevel events into Hookline's tables."""

from __future__ import annotations

import structlog
from pydantic import ValidationError

from hookline.db import tenant_session
from hookline.services import crm, inbox
from hookline.workers.app import app
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
        with tenant_session(tenant_id) as session:
            event = inbox.claim(session, tenant_id, event_id)
            if event is None:  # already processed, or a twin delivery holds it: at-least-once
                log.info("ghl.event.skipped", event_id=event_id)
                return
            outcome = crm.apply_ghl(session, tenant_id, event.event_type, event.payload, received_at=event.received_at)
            inbox.mark_processed(session, event)
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
