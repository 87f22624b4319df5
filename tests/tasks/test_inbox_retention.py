"""maintenance.prune_inbox: processed and ignored events past the retention go, in batches; pending and failed stay."""

from datetime import timedelta

from sqlalchemy import func, select, update

from hookline.db import tenant_session
from hookline.models import EventStatus, WebhookEvent
from hookline.services import inbox
from hookline.tasks.maintenance import prune_inbox


def _store(tenant, key, status, age_days):
    with tenant_session(tenant.id) as session:
        event_id = inbox.store(session, tenant.id, provider="ghl", event_type="ContactCreate", dedupe_key=key,
                               payload={"id": key}, status=status).event_id
        session.execute(update(WebhookEvent).where(WebhookEvent.id == event_id)
                        .values(received_at=func.now() - timedelta(days=age_days)))


def _keys(tenant):
    with tenant_session(tenant.id) as session:
        return sorted(session.scalars(select(WebhookEvent.dedupe_key).where(WebhookEvent.tenant_id == tenant.id)))


def test_prune_inbox_keeps_recent_pending_and_failed_events_for_every_tenant(tenant, other_tenant):
    for owner, prefix in ((tenant, "a"), (other_tenant, "b")):
        _store(owner, f"{prefix}-old-processed-1", EventStatus.PROCESSED, 31)
        _store(owner, f"{prefix}-old-processed-2", EventStatus.PROCESSED, 40)
        _store(owner, f"{prefix}-old-ignored", EventStatus.IGNORED, 31)
        _store(owner, f"{prefix}-old-pending", EventStatus.PENDING, 31)
        _store(owner, f"{prefix}-old-failed", EventStatus.FAILED, 31)
        _store(owner, f"{prefix}-new-processed", EventStatus.PROCESSED, 29)

    assert prune_inbox(batch=2) == 6  # three per tenant, in batches of two
    assert prune_inbox() == 0

    assert _keys(tenant) == ["a-new-processed", "a-old-failed", "a-old-pending"]
    assert _keys(other_tenant) == ["b-new-processed", "b-old-failed", "b-old-pending"]
