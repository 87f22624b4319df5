"""POST /webhooks/reonic over real HTTP: Reonic's HMAC signature, its client id as the tenant, its event id as dedupe."""

import time

import pytest

from hookline.db import global_session
from hookline.services.tenants import add_connection
from tests.ingress.conftest import count_all_events, events, log_lines
from tests.support.webhooks import encode, reonic_headers, shared


def post(client, accounts, body=None, *, event_id="evt-reonic-0001", secret=None, client_id=None, age=None,
         **header_args):
    raw = encode(body if body is not None else shared("reonic_contact_created.json"))
    if age is not None:  # seconds before now that it was signed (negative: in the future)
        header_args["timestamp"] = int(time.time() - age)
    headers = reonic_headers(raw, secret=secret or accounts.reonic_secret, client_id=client_id or accounts.reonic_client,
                             event_id=event_id, **header_args)
    return client.post("/webhooks/reonic", content=raw, headers=headers)


def test_a_signed_delivery_is_stored_for_the_clients_tenant(client, sunny, callcentre):
    response = post(client, sunny)

    assert response.status_code == 202
    [event] = events(sunny.tenant_id)
    assert (event.provider, event.event_type, event.dedupe_key) == ("reonic", "contact_created", "evt-reonic-0001")
    assert event.payload == shared("reonic_contact_created.json")
    # contact_created has a handler (tasks/reonic_sync.fetch): pending, published to reonic_sync.
    assert response.json() == {"event_id": event.id, "status": "pending", "duplicate": False}
    assert events(callcentre.tenant_id) == []


def test_a_redelivery_with_a_new_timestamp_is_a_duplicate(client, sunny):
    first = post(client, sunny, age=60)
    second = post(client, sunny)

    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json()["event_id"] == first.json()["event_id"]
    assert second.json()["duplicate"] is True
    assert len(events(sunny.tenant_id)) == 1


def test_the_same_event_id_from_two_tenants_is_two_events(client, sunny, callcentre):
    assert post(client, sunny).status_code == 202
    assert post(client, callcentre).status_code == 202

    assert len(events(sunny.tenant_id)) == len(events(callcentre.tenant_id)) == 1


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        (dict(secret="whsec_wrong"), 401, "invalid_signature"),
        (dict(secret="whsec_reonic_callcentre"), 401, "invalid_signature"),  # another tenant's secret
        (dict(age=301), 401, "invalid_signature"),
        (dict(age=-301), 401, "invalid_signature"),
        (dict(client_id="reonic-nobody"), 404, "unknown_tenant"),
        (dict(body=b'{"version": 1, "type": '), 400, "invalid_json"),
        (dict(event_id=""), 400, "missing_field"),
    ],
    ids=["wrong-secret", "other-tenants-secret", "stale", "future", "unknown-client", "bad-json", "no-event-id"],
)
def test_refusals_store_nothing(client, sunny, callcentre, change, status, code):
    response = post(client, sunny, **change)

    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert count_all_events([sunny.tenant_id, callcentre.tenant_id]) == 0


def test_unsigned_or_headerless_deliveries_are_refused(client, sunny):
    raw = encode(shared("reonic_contact_created.json"))
    headers = reonic_headers(raw, secret=sunny.reonic_secret, client_id=sunny.reonic_client, event_id="e1")

    unsigned = client.post("/webhooks/reonic", content=raw, headers={**headers, "x-reonic-signature": ""})
    anonymous = client.post("/webhooks/reonic", content=raw,
                            headers={k: v for k, v in headers.items() if k != "x-reonic-client-id"})

    assert (unsigned.status_code, unsigned.json()["error"]["code"]) == (401, "invalid_signature")
    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (400, "missing_field")
    assert events(sunny.tenant_id) == []


def test_a_connection_without_a_secret_accepts_nothing_and_says_so(client, tenant, ingress_log):
    with global_session() as session:
        add_connection(session, tenant.id, "reonic", "reonic-unconfigured")
    raw = encode(shared("reonic_contact_created.json"))
    headers = reonic_headers(raw, secret="", client_id="reonic-unconfigured", event_id="e2")

    response = client.post("/webhooks/reonic", content=raw, headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "secret_not_configured"
    assert events(tenant.id) == []
    [line] = [line for line in log_lines(ingress_log, "webhook.secret_not_configured") if line["tenant_id"] == tenant.id
              and line["provider"] == "reonic"][-1:]
    assert line["level"] == "error"


@pytest.mark.parametrize(("fixture", "status"), [
    ("reonic_project_created.json", "pending"),
    ("reonic_project_archived.json", "pending"),
    ("reonic_residentialProject_created.json", "pending"),
    ("reonic_residentialOffer_signatureRequested.json", "pending"),
    ("reonic_residentialOffer_signed.json", "pending"),
    ("reonic_residentialOffer_signatureWithdrawn.json", "pending"),
    # No table for commercial projects or checklists: kept for audit, processed by nothing.
    ("reonic_commercialProject_created.json", "ignored"),
    ("reonic_projectChecklist_segmentCompletionChanged.json", "ignored"),
    ("reonic_projectChecklist_pdfGenerated.json", "ignored"),
])
def test_every_documented_event_is_stored_pending_or_ignored(client, sunny, fixture, status):
    body = shared(fixture)

    response = post(client, sunny, body, event=body["type"])

    assert response.status_code == 202, response.text
    [event] = events(sunny.tenant_id)
    assert (event.event_type, event.status) == (body["type"], status)


def test_an_offer_event_without_its_signature_request_id_is_refused(client, sunny):
    body = shared("reonic_residentialOffer_signed.json")
    body = {**body, "data": {key: value for key, value in body["data"].items() if key != "signatureRequestId"}}

    response = post(client, sunny, body, event=body["type"])

    assert response.status_code == 422, response.text
    assert events(sunny.tenant_id) == []
