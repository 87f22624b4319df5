"""A task message the ingress's publisher makes (transport/messages.py) is taken and run by a stock Celery worker."""

import httpx
import redis
from sqlalchemy import select

from hookline.config import broker_redis_url, get_settings
from hookline.db import tenant_session
from hookline.models import Contact, WebhookEvent
from hookline.transport.messages import TaskMessages, push
from hookline.transport.publisher import Job
from hookline.workers.app import app
from tests.support.processes import wait_for
from tests.support.webhooks import encode, ghl_headers, payload


def status(tenant_id, event_id):
    with tenant_session(tenant_id) as session:
        return session.scalar(select(WebhookEvent.status).where(WebhookEvent.tenant_id == tenant_id,
                                                                WebhookEvent.id == event_id))


def test_a_batched_message_is_processed_by_the_worker(ingress_without_broker, worker, tenant, other_tenant):
    # Stored but never published (this ingress has no broker), so the only message is the batch's.
    created = []
    for location in ("loc-sunny-001", "loc-callcentre-002"):
        raw = encode(payload("ghl/ContactCreate.json", locationId=location))
        response = httpx.post(f"{ingress_without_broker}/webhooks/ghl", content=raw, headers=ghl_headers(raw), timeout=30)
        created.append(response.json()["event_id"])
    jobs = [Job("hookline.tasks.ghl_sync.upsert_contact", tenant_id, event_id, "ghl")
            for tenant_id, event_id in zip((tenant.id, other_tenant.id), created, strict=True)]

    push(redis.Redis.from_url(broker_redis_url(get_settings().broker)), TaskMessages(app), jobs)

    wait_for(lambda: all(status(job.tenant_id, job.event_id) == "processed" for job in jobs), what="both processed")
    for job in jobs:
        with tenant_session(job.tenant_id) as session:
            assert session.scalars(select(Contact.external_id).where(Contact.tenant_id == job.tenant_id)).all() == [
                "ct-ana-lindqvist-01"
            ]
