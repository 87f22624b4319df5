"""Signed GoHighLevel CRM events over HTTP, applied by a real worker: in order when they come out
of order, with no ghost after a delete, and every record family routed to its table."""

import uuid

import httpx

from hookline.db import tenant_session
from hookline.models import Appointment, Contact, CrmTask, Deal, Note, PipelineStage, WebhookEvent
from hookline.services import records
from tests.support.processes import wait_for
from tests.support.webhooks import encode, ghl_headers, now_iso, payload, shared


def deliver(url, tenant_id, body):
    """Post a signed delivery and wait until the worker has processed it."""
    raw = encode(body)
    response = httpx.post(f"{url}/webhooks/ghl", content=raw, headers=ghl_headers(raw), timeout=10)
    assert response.status_code == 202, response.text
    event_id = response.json()["event_id"]

    def status():
        with tenant_session(tenant_id) as session:
            return session.get(WebhookEvent, event_id).status

    wait_for(lambda: status() != "pending", what=f"{body['type']} processed")
    assert status() == "processed"


def row(tenant_id, model, external_id):
    with tenant_session(tenant_id) as session:
        return records.find(session, tenant_id, model, external_id)


def signed(name, seconds_ago, **changes):
    """Our fixture, or GoHighLevel's documented body, as a fresh signed delivery made `seconds_ago`."""
    body = payload(name) if name.startswith("ghl/") else {**shared(name), "locationId": "loc-sunny-001"}
    return {**body, "webhookId": str(uuid.uuid4()), "timestamp": now_iso(-seconds_ago), **changes}


def test_a_deal_stays_right_when_its_events_arrive_late_and_after_its_delete(ingress_url, worker, tenant):
    deliver(ingress_url, tenant.id, signed("ghl/OpportunityCreate.json", 200))
    deliver(ingress_url, tenant.id, signed("ghl/OpportunityStageUpdate.json", 60))

    deliver(ingress_url, tenant.id, signed("ghl/OpportunityUpdate.json", 120))  # older than the stage change

    deal = row(tenant.id, Deal, "op-lindqvist-pv-01")
    with tenant_session(tenant.id) as session:
        stage = session.get(PipelineStage, deal.stage_id).external_id
    assert (deal.name, stage) == ("Lindqvist PV 9.6 kWp", "st-site-visit")

    deliver(ingress_url, tenant.id, signed("ghl/OpportunityDelete.json", 30))
    deliver(ingress_url, tenant.id, signed("ghl/OpportunityCreate.json", 100))  # a late redelivery

    assert row(tenant.id, Deal, "op-lindqvist-pv-01").deleted_at is not None
    with tenant_session(tenant.id) as session:
        assert records.live(session, tenant.id, Deal) == []


def test_each_record_family_lands_in_its_table(ingress_url, worker, tenant, other_tenant):
    deliver(ingress_url, tenant.id, signed("ghl/ContactCreate.json", 50))
    deliver(ingress_url, tenant.id, signed("ghl_ContactTagUpdate.json", 40, id="ct-ana-lindqvist-01"))
    deliver(ingress_url, tenant.id, signed("ghl_AppointmentCreate.json", 40))
    deliver(ingress_url, tenant.id, signed("ghl/NoteCreate.json", 30))
    deliver(ingress_url, tenant.id, signed("ghl_TaskCreate.json", 20))
    deliver(ingress_url, tenant.id, signed("ghl_TaskComplete.json", 10, id="UlRWGLSXh0ji5qbiGu4i"))
    deliver(ingress_url, other_tenant.id, signed("ghl/NoteCreate.json", 5, locationId="loc-callcentre-002",
                                                 body="theirs"))

    contact = row(tenant.id, Contact, "ct-ana-lindqvist-01")
    assert (contact.email, contact.tags) == ("ana.lindqvist@example.com", ["id magna sed Lorem", "Duis dolor commodo aliqua"])
    assert row(tenant.id, Appointment, "0007BWpSzSwfiuSl0tR2").title == "Appointment with GHL Dev team"
    assert row(tenant.id, Note, "nt-0001").body == "Customer asked for a battery option."
    assert row(other_tenant.id, Note, "nt-0001").body == "theirs"
    task = row(tenant.id, CrmTask, "UlRWGLSXh0ji5qbiGu4i")
    assert (task.title, task.completed) == ("Loram ipsum", True)
