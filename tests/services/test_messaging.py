"""The email outbox's enqueue: once per idempotency key, in the caller's transaction, per tenant."""

import pytest
from sqlalchemy import func, select

from hookline.db import tenant_session
from hookline.models import EmailMessage
from hookline.services import messaging


def enqueue(tenant_id, key="dunning:inv-1:step-1", recipient="ana@example.com"):
    with tenant_session(tenant_id) as session:
        return messaging.enqueue(session, tenant_id, template="dunning_reminder", recipient=recipient,
                                 context={"invoice": "inv-1"}, idempotency_key=key)


def count(tenant_id):
    with tenant_session(tenant_id) as session:
        return session.scalar(select(func.count()).select_from(EmailMessage))


def test_a_second_enqueue_with_the_same_key_returns_the_first_message(tenant):
    first = enqueue(tenant.id)
    second = enqueue(tenant.id, recipient="someone-else@example.com")

    assert second.id == first.id
    assert (second.recipient, second.status, second.attempts) == ("ana@example.com", "queued", 0)
    assert count(tenant.id) == 1


def test_the_message_rolls_back_with_the_callers_work(tenant):
    with pytest.raises(RuntimeError), tenant_session(tenant.id) as session:
        messaging.enqueue(session, tenant.id, template="welcome", recipient="a@example.com", context={},
                          idempotency_key="welcome:1")
        raise RuntimeError("the caller's own change failed")

    assert count(tenant.id) == 0


def test_keys_are_per_tenant_and_a_tenant_sees_only_its_own(tenant, other_tenant):
    mine = enqueue(tenant.id)
    theirs = enqueue(other_tenant.id)

    assert mine.id != theirs.id
    assert count(tenant.id) == 1 and count(other_tenant.id) == 1


def test_an_empty_idempotency_key_is_refused(tenant):
    with pytest.raises(ValueError, match="idempotency key"):
        enqueue(tenant.id, key="")
    assert count(tenant.id) == 0
