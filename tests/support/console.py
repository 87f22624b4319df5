"""The console's test users and the rows its pages show: failed events with task runs, dead letters."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, text, update

from hookline.console.users import hash_password
from hookline.db import tenant_session
from hookline.models import TaskRun, WebhookEvent
from hookline.services import dead_letters, inbox
from tests.support.webhooks import payload

PASSWORDS = {"alice": "alice-viewer-pw", "bob": "bob-operator-pw"}
USERS = f"alice:viewer:{hash_password(PASSWORDS['alice'])},bob:operator:{hash_password(PASSWORDS['bob'])}"


def failed_event(tenant, key: str, *, error: str = "ghl_sync.upsert_contact: GHL POST /contacts/upsert: 422",
                 age: timedelta = timedelta(minutes=5), **changes) -> int:
    """A ContactCreate event that failed after a retry: its inbox row and two task runs, as a worker leaves them."""
    with tenant_session(tenant.id) as session:
        event_id = inbox.store(session, tenant.id, provider="ghl", event_type="ContactCreate", dedupe_key=key,
                               payload=payload("ghl/ContactCreate.json", **changes)).event_id
        inbox.mark_failed(session, tenant.id, event_id, error)
        session.execute(update(WebhookEvent).where(WebhookEvent.id == event_id)
                        .values(received_at=func.now() - age, published_at=func.now() - age))
        task = "hookline.tasks.ghl_sync.upsert_contact"
        session.add_all([
            TaskRun(tenant_id=tenant.id, task=task, queue="ghl_sync", task_id=f"t-{key}", event_id=event_id,
                    state="retried", attempt=1, started_at=func.now() - age, finished_at=func.now() - age,
                    runtime_seconds=0.2, error="TransientError: GHL POST /contacts/upsert: 503"),
            TaskRun(tenant_id=tenant.id, task=task, queue="ghl_sync", task_id=f"t-{key}", event_id=event_id,
                    state="failed", attempt=2, started_at=func.now() - age / 2, finished_at=func.now() - age / 2,
                    runtime_seconds=0.3, error=error),
        ])
    return event_id


def many_failed_events(tenant, count: int) -> None:
    """`count` failed events in one statement (no task runs)."""
    with tenant_session(tenant.id) as session:
        session.execute(text(
            "INSERT INTO webhook_events (tenant_id, provider, event_type, dedupe_key, payload, status, attempts) "
            "SELECT :tenant, 'ghl', 'ContactCreate', 'bulk-' || n, '{}'::jsonb, 'failed', 1 "
            "FROM generate_series(1, :count) AS n"), {"tenant": tenant.id, "count": count})


def dead_letter(tenant, task_id: str, event_id: int | None = None) -> int:
    with tenant_session(tenant.id) as session:
        return dead_letters.record(session, tenant.id, task="hookline.tasks.ghl_sync.upsert_contact", task_id=task_id,
                                   kwargs={"tenant_id": tenant.id, "event_id": event_id}, reason="retries_exhausted",
                                   error="TransientError: GHL 503").id


def status_of(tenant, event_id: int) -> str:
    with tenant_session(tenant.id) as session:
        return inbox.get(session, tenant.id, event_id).status


__all__ = ["PASSWORDS", "USERS", "dead_letter", "failed_event", "many_failed_events", "status_of"]
