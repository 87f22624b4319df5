"""ghl_sync.apply_event on real PostgreSQL (the task called directly): claim, apply, mark processed."""

from sqlalchemy import select

from hookline.db import tenant_session
from hookline.models import Contact, Deal, Note, WebhookEvent
from hookline.services import inbox, records
from hookline.tasks.ghl_sync import apply_event, upsert_contact
from tests.support.webhooks import payload


def store(tenant_id, name, key=None, **changes):
    body = name if isinstance(name, dict) else payload(name, **changes)
    with tenant_session(tenant_id) as session:
        return inbox.store(session, tenant_id, provider="ghl", event_type=body["type"],
                           dedupe_key=key or body.get("webhookId") or name, payload=body).event_id


def event(tenant_id, event_id):
    with tenant_session(tenant_id) as session:
        return session.scalars(select(WebhookEvent).where(WebhookEvent.tenant_id == tenant_id,
                                                          WebhookEvent.id == event_id)).one()


def row(tenant_id, model, external_id):
    with tenant_session(tenant_id) as session:
        return records.find(session, tenant_id, model, external_id)


def test_an_event_is_applied_and_marked_processed_once(tenant):
    event_id = store(tenant.id, "ghl/NoteCreate.json")

    apply_event(tenant_id=tenant.id, event_id=event_id)
    apply_event(tenant_id=tenant.id, event_id=event_id)  # at-least-once: the claim hands it out once

    stored = event(tenant.id, event_id)
    assert (stored.status, stored.attempts) == ("processed", 1)
    assert row(tenant.id, Note, "nt-0001").body == "Customer asked for a battery option."


def test_a_late_older_event_is_processed_without_changing_the_row(tenant):
    newer = store(tenant.id, "ghl/OpportunityStageUpdate.json", timestamp="2026-11-20T11:00:00Z")
    older = store(tenant.id, "ghl/OpportunityUpdate.json", timestamp="2026-11-20T10:30:00Z")

    apply_event(tenant_id=tenant.id, event_id=newer)
    apply_event(tenant_id=tenant.id, event_id=older)

    assert {event(tenant.id, e).status for e in (newer, older)} == {"processed"}
    deal = row(tenant.id, Deal, "op-lindqvist-pv-01")
    assert (deal.name, deal.monetary_value) == ("Lindqvist PV 9.6 kWp", 18450.5)


def test_the_same_body_delivered_twice_under_two_webhook_ids_changes_nothing(tenant):
    body = payload("ghl/ContactCreate.json")  # one signed timestamp: the same delivery, redelivered
    first = store(tenant.id, body, key="wh-1")
    second = store(tenant.id, body, key="wh-2")
    apply_event(tenant_id=tenant.id, event_id=first)
    before = row(tenant.id, Contact, "ct-ana-lindqvist-01")

    apply_event(tenant_id=tenant.id, event_id=second)

    assert event(tenant.id, second).status == "processed"
    assert row(tenant.id, Contact, "ct-ana-lindqvist-01").updated_at == before.updated_at


def test_a_body_that_cannot_parse_fails_for_an_operator_without_retrying(tenant):
    event_id = store(tenant.id, "ghl/OpportunityCreate.json", monetaryValue="lots")  # stored past the door

    apply_event(tenant_id=tenant.id, event_id=event_id)

    stored = event(tenant.id, event_id)
    assert stored.status == "failed" and "monetaryValue" in stored.last_error
    assert row(tenant.id, Deal, "op-lindqvist-pv-01") is None


def test_a_pending_event_with_no_handler_fails_with_the_reason(tenant):
    event_id = store(tenant.id, "ghl/NoteCreate.json", type="CampaignStatusUpdate")

    apply_event(tenant_id=tenant.id, event_id=event_id)

    assert (event(tenant.id, event_id).status, event(tenant.id, event_id).last_error) == (
        "failed", "no handler for ghl CampaignStatusUpdate")


def test_the_old_task_name_still_applies_events(tenant):
    event_id = store(tenant.id, "ghl/ContactCreate.json")

    upsert_contact(tenant_id=tenant.id, event_id=event_id)

    assert event(tenant.id, event_id).status == "processed"
    assert row(tenant.id, Contact, "ct-ana-lindqvist-01").city == "Berlin"


def test_a_mixed_batch_ends_where_its_events_one_by_one_would(tenant):
    from prometheus_client import REGISTRY

    from hookline.tasks.ghl_sync import apply_events

    def applied():
        return REGISTRY.get_sample_value("hookline_worker_batch_events_total",
                                         {"task": apply_event.name, "outcome": "applied"}) or 0

    # A partial change (stage) newer than a full one (update) of the same deal, a note (one by one,
    # no page applier), a contact and its later delete (a tombstone): every path of crm.apply_ghl_many.
    batch = [store(tenant.id, "ghl/OpportunityStageUpdate.json", timestamp="2026-11-20T11:00:00Z"),
             store(tenant.id, "ghl/NoteCreate.json"),
             store(tenant.id, "ghl/ContactCreate.json", timestamp="2026-11-20T09:00:00Z"),
             store(tenant.id, "ghl/OpportunityUpdate.json", timestamp="2026-11-20T10:30:00Z"),
             store(tenant.id, {**payload("ghl/ContactCreate.json", timestamp="2026-11-20T12:00:00Z"),
                               "type": "ContactDelete"}, key="delete")]
    before = applied()

    assert apply_events(tenant_id=tenant.id, event_ids=batch) == 5
    assert apply_events(tenant_id=tenant.id, event_ids=batch) == 0  # delivered again: nothing taken

    assert {(event(tenant.id, e).status, event(tenant.id, e).attempts) for e in batch} == {("processed", 1)}
    deal = row(tenant.id, Deal, "op-lindqvist-pv-01")
    assert (deal.name, deal.monetary_value) == ("Lindqvist PV 9.6 kWp", 18450.5)
    assert deal.source_version.isoformat().startswith("2026-11-20T11:00:00")  # the stage change, the newer
    assert row(tenant.id, Note, "nt-0001").body == "Customer asked for a battery option."
    assert row(tenant.id, Contact, "ct-ana-lindqvist-01").deleted_at is not None
    assert applied() - before == 5
