"""services.dead_letters on real PostgreSQL: one row per task id, and the inbox event it worked on."""

from hookline.db import tenant_session
from hookline.models import EventStatus
from hookline.services import dead_letters, inbox
from tests.support.webhooks import payload


def store(tenant_id, key):
    with tenant_session(tenant_id) as session:
        return inbox.store(session, tenant_id, provider="ghl", event_type="ContactCreate", dedupe_key=key,
                           payload=payload("ghl/ContactCreate.json")).event_id


def record(tenant_id, task_id, **kwargs):
    with tenant_session(tenant_id) as session:
        return dead_letters.record(session, tenant_id, task="hookline.tasks.ghl_sync.upsert_contact", task_id=task_id,
                                   kwargs={"tenant_id": tenant_id, **kwargs}, reason="permanent",
                                   error="ValueError: boom", traceback="Traceback …")


def test_the_same_task_id_failing_again_counts_attempts_on_one_row(tenant):
    first = record(tenant.id, "task-1", event_id=99)
    second = record(tenant.id, "task-1", event_id=99)

    assert second.id == first.id and second.attempts == 2
    assert second.last_failed_at >= first.last_failed_at == second.first_failed_at


def test_a_pending_event_the_task_worked_on_is_marked_failed_so_the_sweeper_leaves_it(tenant):
    event_id = store(tenant.id, "a")

    record(tenant.id, "task-2", event_id=event_id)

    with tenant_session(tenant.id) as session:
        event = inbox.get(session, tenant.id, event_id)
    assert event.status == EventStatus.FAILED.value
    assert event.last_error == "hookline.tasks.ghl_sync.upsert_contact: ValueError: boom"


def test_a_processed_event_stays_processed(tenant):
    event_id = store(tenant.id, "b")
    with tenant_session(tenant.id) as session:
        inbox.take(session, tenant.id, event_id)

    record(tenant.id, "task-3", event_id=event_id)

    with tenant_session(tenant.id) as session:
        assert inbox.get(session, tenant.id, event_id).status == EventStatus.PROCESSED.value
