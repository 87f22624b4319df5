"""Broker down: the webhook is still acknowledged once committed, and the relay publishes it later."""

import httpx
from sqlalchemy import select

from hookline.db import tenant_session
from hookline.models import Contact, WebhookEvent
from hookline.tasks.maintenance import relay_unpublished
from tests.support.processes import wait_for
from tests.support.webhooks import encode, ghl_headers, payload


def stored(tenant_id, event_id):
    with tenant_session(tenant_id) as session:
        return session.scalars(
            select(WebhookEvent).where(WebhookEvent.tenant_id == tenant_id, WebhookEvent.id == event_id)
        ).one()


def test_with_the_broker_down_the_event_is_acknowledged_and_relayed_when_it_is_back(
    ingress_without_broker, worker, tenant
):
    raw = encode(payload("ghl/ContactCreate.json"))

    response = httpx.post(f"{ingress_without_broker}/webhooks/ghl", content=raw, headers=ghl_headers(raw), timeout=30)

    assert response.status_code == 202
    event_id = response.json()["event_id"]
    before = stored(tenant.id, event_id)
    assert (before.status, before.published_at) == ("pending", None)

    # The relay runs on the real worker (maintenance queue), publishing through the live broker.
    relay_unpublished.apply_async(kwargs={"older_than_seconds": 0})

    wait_for(lambda: stored(tenant.id, event_id).status == "processed", what="the relayed event to be processed")
    after = stored(tenant.id, event_id)
    assert after.published_at is not None and after.attempts == 1
    with tenant_session(tenant.id) as session:
        assert session.scalars(select(Contact.external_id).where(Contact.tenant_id == tenant.id)).all() == [
            "ct-ana-lindqvist-01"
        ]
    assert relay_unpublished(older_than_seconds=0) == 0  # published once, never again
