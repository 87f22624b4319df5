"""Publishing after commit, and the sweeper that repairs a lost publish or a send cut off mid-way."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import update

from hookline.db import tenant_session
from hookline.models import EmailMessage
from hookline.services import messaging
from hookline.tasks.email import send, send_after_commit
from hookline.tasks.maintenance import sweep_email_outbox

WELCOME = {"name": "Ana"}


@pytest.fixture()
def email_queue(redis_client):
    redis_client.delete("email")
    return lambda: [json.loads(raw)["headers"]["kwargsrepr"] for raw in redis_client.lrange("email", 0, -1)]


def enqueue(session, tenant_id, key="welcome:ana"):
    return messaging.enqueue(session, tenant_id, template="welcome", recipient="ana@example.com", context=WELCOME,
                             idempotency_key=key)


def test_the_send_is_published_only_after_the_commit(tenant, email_queue):
    with tenant_session(tenant.id) as session:
        message = enqueue(session, tenant.id)
        send_after_commit(session, message)
        assert email_queue() == []  # not before the row is visible to a worker

    assert email_queue() == [repr({"tenant_id": tenant.id, "message_id": message.id})]


def test_nothing_is_published_when_the_callers_transaction_rolls_back(tenant, email_queue):
    with pytest.raises(RuntimeError), tenant_session(tenant.id) as session:
        send_after_commit(session, enqueue(session, tenant.id))
        raise RuntimeError("the dunning step failed")

    assert email_queue() == []


def test_a_message_enqueued_again_is_not_published_again_once_sent(tenant, email_settings, email_queue):
    with tenant_session(tenant.id) as session:
        message = enqueue(session, tenant.id)
    send.apply(kwargs={"tenant_id": tenant.id, "message_id": message.id})

    with tenant_session(tenant.id) as session:
        send_after_commit(session, enqueue(session, tenant.id))

    assert email_queue() == []


def test_the_sweeper_republishes_a_queued_message_whose_publish_was_lost(tenant, other_tenant, email_queue):
    with tenant_session(tenant.id) as session:
        lost = enqueue(session, tenant.id)  # committed, never published: the process died here
    with tenant_session(other_tenant.id) as session:
        enqueue(session, other_tenant.id)  # fresh: due now

    assert sweep_email_outbox(requeue_after_seconds=3600) == {"republished": 0, "failed_stuck": 0}
    with tenant_session(tenant.id) as session:  # `lost` was due two hours ago; `fresh` is due now
        session.execute(update(EmailMessage).where(EmailMessage.id == lost.id)
                        .values(due_at=EmailMessage.due_at - timedelta(hours=2)))

    assert sweep_email_outbox(requeue_after_seconds=3600) == {"republished": 1, "failed_stuck": 0}
    assert sweep_email_outbox(requeue_after_seconds=3600) == {"republished": 0, "failed_stuck": 0}  # due again: now
    assert email_queue() == [repr({"tenant_id": tenant.id, "message_id": lost.id})]


def test_a_message_stuck_in_sending_is_failed_as_unknown_and_never_sent_again(tenant, email_settings, tmp_path):
    with tenant_session(tenant.id) as session:
        message = enqueue(session, tenant.id)
    with tenant_session(tenant.id) as session:
        messaging.claim(session, tenant.id, message.id)  # a worker took it, then died mid-send

    assert sweep_email_outbox(stuck_after_seconds=3600)["failed_stuck"] == 0  # it may still be running
    assert sweep_email_outbox(stuck_after_seconds=0)["failed_stuck"] == 1
    send.apply(kwargs={"tenant_id": tenant.id, "message_id": message.id})  # the redelivered task

    with tenant_session(tenant.id) as session:
        stuck = messaging.get(session, tenant.id, message.id)
    assert (stuck.status, stuck.last_error) == ("failed", messaging.UNKNOWN_OUTCOME)
    assert not (tmp_path / "mail").exists()


def test_a_failed_message_replayed_is_sent(tenant, email_settings, tmp_path):
    with tenant_session(tenant.id) as session:
        message = enqueue(session, tenant.id)
        messaging.claim(session, tenant.id, message.id)
        messaging.mark_failed(session, tenant.id, message.id, "550 mailbox full")
    with tenant_session(tenant.id) as session:
        assert messaging.reset_for_replay(session, tenant.id, message.id).status == "queued"

    assert send.apply(kwargs={"tenant_id": tenant.id, "message_id": message.id}).get() == "sent"
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 1
