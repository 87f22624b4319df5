"""POST /webhooks/ghl over real HTTP to a running ingress, with real PostgreSQL and the real Redis broker."""

import httpx
import pytest

from hookline.db import global_session
from hookline.services.tenants import add_tenant
from hookline.transport import published
from tests.ingress.conftest import connect, count_all_events, events, log_lines
from tests.support.cli import hookline
from tests.support.ingress import ingress
from tests.support.webhooks import encode, ghl_headers, payload, reonic_headers, shared


def post(client, body, scheme="ed25519", headers=None):
    raw = encode(body)
    return client.post("/webhooks/ghl", content=raw, headers={**ghl_headers(raw, scheme), **(headers or {})})


def test_healthz_says_the_process_is_up(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_signed_contact_create_is_stored_and_published(client, tenant, queue, redis_client):
    response = post(client, payload("ghl/ContactCreate.json"))

    assert response.status_code == 202
    [message] = queue()
    [event] = events(tenant.id)
    assert response.json() == {"event_id": event.id, "status": "pending", "duplicate": False}
    assert (event.event_type, event.status, event.dedupe_key) == (
        "ContactCreate", "pending", "3f6a1c2e-8b1d-4d8e-9a51-0c2b7f9e4a10"
    )
    assert event.payload["email"] == "ana.lindqvist@example.com"
    # On a Redis broker the record of the publish is the event's bit there, written with the message.
    assert published.marked(redis_client, [event.id]) == {event.id}
    assert event.published_at is None
    assert message["headers"]["tenant_id"] == tenant.id
    assert message["headers"]["task"] == "hookline.tasks.ghl_sync.apply_event"


def test_a_duplicate_delivery_is_answered_with_the_same_event_and_not_published_again(client, tenant, queue):
    first = post(client, payload("ghl/ContactCreate.json"))
    second = post(client, payload("ghl/ContactCreate.json"))

    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json() == {"event_id": first.json()["event_id"], "status": "pending", "duplicate": True}
    assert len(events(tenant.id)) == 1
    assert len(queue()) == 1


def test_without_a_webhook_id_the_body_hash_dedupes(client, tenant, queue):
    body = payload("ghl/ContactCreate.json", webhookId=None)

    post(client, body)
    post(client, body)

    [event] = events(tenant.id)
    assert event.dedupe_key.startswith("sha256:")
    assert len(queue()) == 1


def test_an_event_without_a_handler_is_stored_as_ignored_and_not_published(client, tenant, queue, redis_client):
    response = post(client, {**shared("ghl_CampaignStatusUpdate.json"), "locationId": "loc-sunny-001"})

    assert response.status_code == 202
    assert response.json()["status"] == "ignored"
    [event] = events(tenant.id)
    assert (event.status, event.published_at) == ("ignored", None)
    assert queue() == []
    assert published.marked(redis_client, [event.id]) == set()


def test_events_land_with_the_tenant_of_their_location(client, tenant, other_tenant, queue):
    post(client, payload("ghl/ContactCreate.json", locationId="loc-callcentre-002"))

    assert events(tenant.id) == []
    assert [event.tenant_id for event in events(other_tenant.id)] == [other_tenant.id]


@pytest.mark.parametrize(
    ("make_request", "status", "error"),
    [
        (lambda c: post(c, b'{"type": "ContactCreate", "locationId": '), 400, "invalid_json"),
        (lambda c: post(c, b"[1, 2, 3]"), 400, "invalid_json"),
        (lambda c: post(c, b"\xff\xfe not utf-8"), 400, "invalid_json"),
        (lambda c: post(c, payload("ghl/ContactCreate.json", locationId="loc-nobody")), 404, "unknown_tenant"),
        (lambda c: post(c, payload("ghl/ContactCreate.json", locationId=None)), 422, "no_location"),
        (lambda c: post(c, payload("ghl/ContactCreate.json", id=None)), 422, "invalid_payload"),
        (lambda c: post(c, payload("ghl/ContactCreate.json", tags="not-a-list")), 422, "invalid_payload"),
        (lambda c: post(c, payload("ghl/OpportunityCreate.json", monetaryValue="lots")), 422, "invalid_payload"),
        (lambda c: post(c, payload("ghl/OpportunityStageUpdate.json", id="")), 422, "invalid_payload"),
        (lambda c: post(c, {"type": "AppointmentUpdate", "locationId": "loc-sunny-001", "id": "ap-1"}), 422,
         "invalid_payload"),
        (lambda c: post(c, payload("ghl/NoteCreate.json", dateAdded="yesterday")), 422, "invalid_payload"),
        (lambda c: post(c, {**shared("ghl_TaskComplete.json"), "locationId": "loc-sunny-001", "id": 17}), 422,
         "invalid_payload"),
        (lambda c: post(c, {"type": "ContactCreate", "locationId": "loc-sunny-001", "x": "y" * 1_100_000}), 413,
         "payload_too_large"),
        (lambda c: c.post("/webhooks/ghl", content=encode(payload("ghl/ContactCreate.json")),
                          headers={"content-type": "application/json"}), 401, "invalid_signature"),
        (lambda c: post(c, payload("ghl/ContactCreate.json"), headers={"content-type": "text/plain"}), 415,
         "unsupported_media_type"),
        (lambda c: c.post("/webhooks/ghl", content=encode(payload("ghl/ContactCreate.json"))), 415,
         "unsupported_media_type"),
        (lambda c: post(c, payload("ghl/ContactCreate.json"), scheme="rsa"), 401, "invalid_signature"),
        (lambda c: post(c, payload("ghl/ContactCreate.json"),
                        headers={"x-ghl-signature": ghl_headers(b"forged")["x-ghl-signature"]}), 401,
         "invalid_signature"),
    ],
    ids=["truncated-json", "json-array", "not-utf8", "unknown-location", "no-location", "contact-without-id",
         "bad-field-type", "deal-value-not-a-number", "stage-update-empty-id", "appointment-not-nested",
         "note-bad-date", "task-id-not-a-string", "too-large", "unsigned", "text-plain", "no-content-type", "rsa-only", "ed25519-forged"],
)
def test_bad_deliveries_get_a_clear_4xx_and_nothing_is_stored(client, tenant, other_tenant, queue, make_request,
                                                             status, error):
    response = make_request(client)

    assert response.status_code == status
    assert response.json()["error"]["code"] == error
    assert response.json()["error"]["message"]
    assert count_all_events([tenant.id, other_tenant.id]) == 0
    assert queue() == []


def test_get_on_the_webhook_route_is_405(client):
    assert client.get("/webhooks/ghl").status_code == 405


def test_legacy_rsa_signatures_are_accepted_only_when_turned_on(tmp_path, tenant):
    body = payload("ghl/ContactCreate.json")
    with ingress(tmp_path / "rsa.log", HOOKLINE_GHL_ACCEPT_RSA_SIGNATURES="true") as url:
        with httpx.Client(base_url=url, timeout=10) as replaying:
            rsa = post(replaying, body, "rsa")
            ed25519 = post(replaying, payload("ghl/ContactCreate.json", webhookId="wh-ed25519"))
            forged = replaying.post("/webhooks/ghl", content=encode(body),
                                    headers={**ghl_headers(encode(body), "rsa"), "x-wh-signature": RSA_FORGED})

    assert (rsa.status_code, ed25519.status_code) == (202, 202)
    assert (forged.status_code, forged.json()["error"]["message"]) == (401, "rsa signature mismatch")
    assert [event.dedupe_key for event in events(tenant.id)] == [body["webhookId"], "wh-ed25519"]


RSA_FORGED = ghl_headers(b"forged", "rsa")["x-wh-signature"]
KEY_MISSING = ("HOOKLINE_GHL_WEBHOOK_ED25519_PUBLIC_KEY is not set: GoHighLevel's Ed25519 signatures cannot be "
               "checked, so every GoHighLevel delivery is refused (401); set it to the Marketplace app's webhook "
               "public key")
NO_KEY = {"HOOKLINE_GHL_WEBHOOK_ED25519_PUBLIC_KEY": ""}


def test_without_an_ed25519_key_ghl_is_refused_by_name_and_the_rest_works(tmp_path, clean_tables):
    with ingress(tmp_path / "first.log", **NO_KEY) as url, httpx.Client(base_url=url, timeout=10) as keyless:
        quiet = keyless.get("/readyz")  # no tenant is connected to GoHighLevel yet: nothing to say
        with global_session() as session:
            tenant = add_tenant(session, "Sunny Solar", ghl_location_id="loc-sunny-001")
        accounts = connect(tenant.id, "sunny")
        refused = post(keyless, payload("ghl/ContactCreate.json"))
        unsigned = keyless.post("/webhooks/ghl", content=b"{}", headers={"content-type": "application/json"})
        reonic_body = encode(shared("reonic_contact_created.json"))
        reonic = keyless.post("/webhooks/reonic", content=reonic_body, headers=reonic_headers(
            reonic_body, secret=accounts.reonic_secret, client_id=accounts.reonic_client, event_id="rev-1"))
        degraded = keyless.get("/readyz")
    status = hookline("status", "--timeout", "0.5", env=NO_KEY)
    with ingress(tmp_path / "second.log", **NO_KEY):
        started = log_lines(tmp_path / "second.log", "ghl.webhook.key_not_configured")

    assert (quiet.status_code, quiet.json()) == (200, {"status": "ok", "database": "ok", "broker": "ok"})
    assert log_lines(tmp_path / "first.log", "ghl.webhook.key_not_configured") == []  # nothing connected at its start
    assert len(log_lines(tmp_path / "first.log", "webhook.key_not_configured")) == 2  # one per refused delivery
    for response in (refused, unsigned):
        assert (response.status_code, response.json()["error"]) == (
            401, {"code": "key_not_configured", "message": KEY_MISSING})
    assert reonic.status_code == 202, reonic.text
    assert [event.provider for event in events(tenant.id)] == ["reonic"]
    assert (degraded.status_code, degraded.json()) == (
        200, {"status": "degraded", "database": "ok", "broker": "ok", "ghl_webhooks": KEY_MISSING})
    assert status.returncode == 1
    assert f"GoHighLevel webhooks: {KEY_MISSING}" in status.stdout.splitlines()
    assert [line["message"] for line in started] == [KEY_MISSING]


def test_with_the_key_set_status_says_nothing_of_it(tenant):
    status = hookline("status", "--timeout", "0.5")

    assert "GoHighLevel webhooks" not in status.stdout
