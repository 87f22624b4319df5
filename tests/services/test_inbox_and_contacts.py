"""Inbox and contact services on real PostgreSQL, with row-level security in force."""

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from hookline.db import tenant_session
from hookline.models import Contact, WebhookEvent
from hookline.services import contacts, inbox
from hookline.transport.published import mark_published
from tests.support.webhooks import payload


def store(tenant_id, key="k-1"):
    with tenant_session(tenant_id) as session:
        return inbox.store(session, tenant_id, provider="ghl", event_type="ContactCreate", dedupe_key=key,
                           payload=payload("ghl/ContactCreate.json"))


def test_the_same_dedupe_key_is_stored_once(tenant):
    first = store(tenant.id)
    second = store(tenant.id)

    assert first.created and not second.created
    assert second.event_id == first.event_id
    with tenant_session(tenant.id) as session:
        assert session.scalar(select(WebhookEvent.id).where(WebhookEvent.tenant_id == tenant.id)) == first.event_id


def test_upsert_twice_keeps_one_contact_with_the_latest_fields(tenant):
    created = contacts.ContactData.from_ghl(payload("ghl/ContactCreate.json"))
    updated = contacts.ContactData.from_ghl(payload("ghl/ContactUpdate.json"))

    with tenant_session(tenant.id) as session:
        contacts.upsert(session, tenant.id, created)
        contacts.upsert(session, tenant.id, updated)
        rows = session.scalars(select(Contact).where(Contact.tenant_id == tenant.id)).all()

    assert [(row.external_id, row.email, row.dnd) for row in rows] == [
        ("ct-ana-lindqvist-01", "ana@lindqvist.example.com", True)
    ]


def test_row_level_security_hides_other_tenants_rows_even_without_a_where(tenant, other_tenant):
    with tenant_session(tenant.id) as session:
        contacts.upsert(session, tenant.id, contacts.ContactData.from_ghl(payload("ghl/ContactCreate.json")))
    store(tenant.id)

    with tenant_session(other_tenant.id) as session:
        assert session.scalars(select(Contact)).all() == []
        assert session.scalars(select(WebhookEvent)).all() == []
    with tenant_session(tenant.id) as session:
        assert len(session.scalars(select(Contact)).all()) == 1


def test_row_level_security_refuses_writing_another_tenants_row(tenant, other_tenant):
    import pytest
    from sqlalchemy.exc import ProgrammingError

    with pytest.raises(ProgrammingError, match="row-level security"):
        with tenant_session(other_tenant.id) as session:
            contacts.upsert(session, tenant.id, contacts.ContactData.from_ghl(payload("ghl/ContactCreate.json")))


def test_take_of_another_tenants_event_finds_nothing(tenant, other_tenant):
    event_id = store(tenant.id).event_id

    with tenant_session(other_tenant.id) as session:
        assert inbox.take(session, other_tenant.id, event_id) is None


def test_take_waits_out_the_ingress_stamping_published_at_instead_of_skipping(tenant):
    import threading

    event_id = store(tenant.id).event_id
    claimed = []

    def take_in_a_worker():
        with tenant_session(tenant.id) as session:
            event = inbox.take(session, tenant.id, event_id)
            claimed.append(event.id if event else None)

    with tenant_session(tenant.id) as ingress:
        mark_published(ingress, tenant.id, event_id)  # holds the row lock until commit
        worker = threading.Thread(target=take_in_a_worker)
        worker.start()
        worker.join(timeout=0.5)  # the worker reaches take while the row is locked
    worker.join(timeout=10)

    assert claimed == [event_id]


def test_take_hands_out_a_pending_event_once_and_marks_it_processed(tenant, other_tenant):
    event_id = store(tenant.id).event_id

    with tenant_session(other_tenant.id) as session:
        assert inbox.take(session, other_tenant.id, event_id) is None
    with tenant_session(tenant.id) as session:
        taken = inbox.take(session, tenant.id, event_id)
    with tenant_session(tenant.id) as session:
        again = inbox.take(session, tenant.id, event_id)
        stored = inbox.get(session, tenant.id, event_id)

    assert (taken.id, taken.event_type, taken.payload) == (event_id, "ContactCreate", stored.payload)
    assert again is None
    assert (stored.status, stored.attempts, stored.last_error) == ("processed", 1, None)
    assert stored.processed_at is not None


def test_a_take_rolled_back_leaves_the_event_pending(tenant):
    event_id = store(tenant.id).event_id

    with pytest.raises(RuntimeError):
        with tenant_session(tenant.id) as session:
            assert inbox.take(session, tenant.id, event_id) is not None
            raise RuntimeError("the handler failed")

    with tenant_session(tenant.id) as session:
        stored = inbox.get(session, tenant.id, event_id)
    assert (stored.status, stored.attempts, stored.processed_at) == ("pending", 0, None)


def test_a_twin_take_waits_for_the_first_and_then_finds_nothing(tenant):
    import threading

    event_id = store(tenant.id).event_id
    twin = []

    def take_in_another_worker():
        with tenant_session(tenant.id) as session:
            twin.append(inbox.take(session, tenant.id, event_id))

    with tenant_session(tenant.id) as first:
        assert inbox.take(first, tenant.id, event_id) is not None  # holds the row lock until commit
        worker = threading.Thread(target=take_in_another_worker)
        worker.start()
        worker.join(timeout=0.5)
        assert worker.is_alive()  # waiting on the lock, not skipping the row
    worker.join(timeout=10)

    assert twin == [None]


def test_storing_for_another_tenant_inside_a_tenant_session_is_refused(tenant, other_tenant):
    with pytest.raises(DBAPIError, match="belongs to tenant"):
        with tenant_session(tenant.id) as session:
            inbox.store(session, other_tenant.id, provider="ghl", event_type="ContactCreate",
                        dedupe_key="wh-cross-tenant", payload={})

    for tenant_id in (tenant.id, other_tenant.id):
        with tenant_session(tenant_id) as session:
            assert session.scalars(select(WebhookEvent)).all() == []
