"""A signed GoHighLevel webhook, posted over HTTP, ends as one contacts row processed by a real worker."""

import json

import httpx
import pytest
from sqlalchemy import select

from hookline.db import tenant_session
from hookline.models import Contact, WebhookEvent
from hookline.workers.app import app
from tests.support.processes import wait_for
from tests.support.webhooks import encode, ghl_headers, payload


def post(url, body):
    raw = encode(body)
    return httpx.post(f"{url}/webhooks/ghl", content=raw, headers=ghl_headers(raw), timeout=10)


def contacts_of(tenant_id):
    with tenant_session(tenant_id) as session:
        return session.scalars(select(Contact).where(Contact.tenant_id == tenant_id)).all()


def event(tenant_id, event_id):
    with tenant_session(tenant_id) as session:
        return session.scalars(
            select(WebhookEvent).where(WebhookEvent.tenant_id == tenant_id, WebhookEvent.id == event_id)
        ).one()


def processed(tenant_id, event_id):
    return event(tenant_id, event_id).status == "processed"


def test_contact_create_posted_three_times_is_one_contact(ingress_url, worker, tenant):
    answers = [post(ingress_url, payload("ghl/ContactCreate.json")) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [202, 200, 200]
    event_id = answers[0].json()["event_id"]
    assert {answer.json()["event_id"] for answer in answers} == {event_id}
    wait_for(lambda: processed(tenant.id, event_id), what="the inbox row to be processed")
    [contact] = contacts_of(tenant.id)
    assert (contact.external_id, contact.email, contact.city, contact.tags) == (
        "ct-ana-lindqvist-01", "ana.lindqvist@example.com", "Berlin", ["solar", "roof-south"]
    )
    stored = event(tenant.id, event_id)
    assert stored.attempts == 1 and stored.processed_at is not None


def test_a_duplicate_of_a_processed_event_reports_it_processed(ingress_url, worker, tenant):
    first = post(ingress_url, payload("ghl/ContactCreate.json")).json()["event_id"]
    wait_for(lambda: processed(tenant.id, first), what="ContactCreate processed")

    again = post(ingress_url, payload("ghl/ContactCreate.json"))

    assert again.status_code == 200
    assert again.json() == {"event_id": first, "status": "processed", "duplicate": True}


def test_contact_update_changes_the_same_contact(ingress_url, worker, tenant):
    created = post(ingress_url, payload("ghl/ContactCreate.json")).json()["event_id"]
    wait_for(lambda: processed(tenant.id, created), what="ContactCreate processed")

    updated = post(ingress_url, payload("ghl/ContactUpdate.json")).json()["event_id"]
    wait_for(lambda: processed(tenant.id, updated), what="ContactUpdate processed")

    [contact] = contacts_of(tenant.id)
    assert (contact.email, contact.dnd, contact.custom_fields) == (
        "ana@lindqvist.example.com", True, [{"id": "cf-roof-area", "value": "71"}]
    )


def test_each_tenant_gets_its_own_contact(ingress_url, worker, tenant, other_tenant):
    first = post(ingress_url, payload("ghl/ContactCreate.json")).json()["event_id"]
    second = post(ingress_url, payload("ghl/ContactCreate.json", locationId="loc-callcentre-002")).json()["event_id"]

    wait_for(lambda: processed(tenant.id, first) and processed(other_tenant.id, second), what="both processed")
    assert [c.tenant_id for c in contacts_of(tenant.id)] == [tenant.id]
    assert [c.tenant_id for c in contacts_of(other_tenant.id)] == [other_tenant.id]


def test_every_log_line_of_the_task_carries_the_tenant(ingress_url, worker, tenant):
    event_id = post(ingress_url, payload("ghl/ContactCreate.json")).json()["event_id"]
    wait_for(lambda: processed(tenant.id, event_id), what="processed")

    def records():
        return [json.loads(line) for line in worker.lines() if line.startswith("{")]

    def upserted():  # the newest upsert of this event (ids restart per test, so take the last)
        return [r for r in records() if r["event"] == "ghl.event.applied" and r["event_id"] == event_id][-1:]

    [mine] = wait_for(upserted, what="the upsert log line")
    lines = [r for r in records() if r.get("task_id") == mine["task_id"] or mine["task_id"] in r["event"]]
    assert {line.get("tenant_id") for line in lines} == {tenant.id}
    assert [line["logger"] for line in lines] == ["celery.worker.strategy", "hookline.tasks.ghl_sync", "celery.app.trace"]


def test_a_message_without_a_tenant_is_refused_by_the_worker(ingress_url, worker, tenant):
    event_id = post(ingress_url, payload("ghl/ContactCreate.json")).json()["event_id"]
    wait_for(lambda: processed(tenant.id, event_id), what="processed")

    # A hand-made message that skips TenantTask.apply_async: no tenant in headers or kwargs.
    app.send_task("hookline.tasks.ghl_sync.upsert_contact", kwargs={"event_id": event_id})

    wait_for(lambda: any("task.refused.no_tenant" in line for line in worker.lines()), what="the refusal")
    assert event(tenant.id, event_id).attempts == 1
    update = post(ingress_url, payload("ghl/ContactUpdate.json")).json()["event_id"]
    wait_for(lambda: processed(tenant.id, update), what="the worker to go on working")


@pytest.mark.parametrize("body", [b"{not json", b'{"type": "ContactCreate"}'])
def test_bad_bodies_over_http_store_nothing(ingress_url, tenant, body):
    response = post(ingress_url, body)

    assert 400 <= response.status_code < 500
    with tenant_session(tenant.id) as session:
        assert session.scalars(select(WebhookEvent).where(WebhookEvent.tenant_id == tenant.id)).all() == []
