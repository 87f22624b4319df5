"""The broker loses its queues after a publish: the sweeper publishes the pending event again, processed once."""

import time

from sqlalchemy import select

from hookline.db import tenant_session
from hookline.models import Contact
from hookline.services import inbox
from hookline.tasks.maintenance import sweep_stale
from hookline.transport.publish import publish
from hookline.transport.published import mark_published
from hookline.workers.app import app
from tests.support.processes import wait_for
from tests.support.webhooks import payload

UPSERT = "hookline.tasks.ghl_sync.upsert_contact"


def event(tenant_id, event_id):
    with tenant_session(tenant_id) as session:
        return inbox.get(session, tenant_id, event_id)


def declare_every_queue():
    """What a worker does when it (re)connects; the test db was flushed under everyone's feet."""
    with app.connection_for_write() as connection:
        for queue in app.conf.task_queues:
            queue.bind(connection.default_channel).declare()


def test_an_event_whose_message_was_lost_is_published_again_and_processed_once(tenant, redis_client, request):
    request.addfinalizer(declare_every_queue)
    redis_client.delete("ghl_sync")  # no message left over from another module's ingress: this test counts
    with tenant_session(tenant.id) as session:
        event_id = inbox.store(session, tenant.id, provider="ghl", event_type="ContactCreate", dedupe_key="lost-1",
                               payload=payload("ghl/ContactCreate.json")).event_id
    publish(UPSERT, tenant_id=tenant.id, event_id=event_id)
    with tenant_session(tenant.id) as session:
        mark_published(session, tenant.id, event_id)
    assert redis_client.llen("ghl_sync") == 1

    redis_client.flushdb()  # Redis restarted without persistence (our test db only): the message is gone
    assert sweep_stale(older_than_seconds=3600) == 0  # published recently: not the sweeper's yet
    request.getfixturevalue("worker")  # a worker comes up (declaring its queues) and finds nothing
    time.sleep(1)
    assert event(tenant.id, event_id).status == "pending"

    assert sweep_stale(older_than_seconds=0) == 1

    wait_for(lambda: event(tenant.id, event_id).status == "processed", what="the swept event to be processed")
    assert event(tenant.id, event_id).attempts == 1
    with tenant_session(tenant.id) as session:
        assert session.scalars(select(Contact.external_id).where(Contact.tenant_id == tenant.id)).all() == [
            "ct-ana-lindqvist-01"
        ]
    assert sweep_stale(older_than_seconds=0) == 0  # processed: never published again
