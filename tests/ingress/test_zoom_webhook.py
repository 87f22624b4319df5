"""POST /webhooks/zoom over real HTTP: the URL-validation challenge, signatures, account_id as the tenant."""

import time

import pytest

from hookline.db import global_session
from hookline.services.tenants import add_connection
from tests.ingress.conftest import count_all_events, events
from tests.support.webhooks import encode, shared, zoom_headers


def recording(accounts, name="zoom_recording.completed.json"):
    body = shared(name)
    body["payload"]["account_id"] = accounts.zoom_account
    return body


def post(client, body, secret, **header_args):
    raw = encode(body)
    return client.post("/webhooks/zoom", content=raw, headers=zoom_headers(raw, secret=secret, **header_args))


def test_the_url_validation_challenge_is_answered_with_the_verifying_connections_token(client, tenant, sunny):
    # The test vector from INTEGRATIONS.md: secret "secretValueTest", plainToken "qgg8vlvZRS6UYooatFL8Aw".
    with global_session() as session:
        add_connection(session, tenant.id, "zoom", "zoom-vector", secrets={"webhook_secret": "secretValueTest"})

    response = post(client, shared("zoom_endpoint.url_validation.json"), "secretValueTest")

    assert response.status_code == 200
    assert response.json() == {
        "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
        "encryptedToken": "70c1f2e2e6ca2d39297490d1f9142c7d701415ea8e6151f6562a08fa657a40ff",
    }
    assert events(tenant.id) == []


def test_a_challenge_no_connection_signed_is_refused(client, sunny):
    response = post(client, shared("zoom_endpoint.url_validation.json"), "not-any-tenants-token")

    assert response.status_code == 401
    assert "encryptedToken" not in response.text


def test_a_recording_completed_is_stored_once_for_its_account(client, sunny, callcentre):
    body = recording(sunny)

    first = post(client, body, sunny.zoom_secret)
    again = post(client, body, sunny.zoom_secret)

    assert (first.status_code, again.status_code) == (202, 200)
    [event] = events(sunny.tenant_id)
    object_uuid = body["payload"]["object"]["uuid"]
    assert (event.provider, event.event_type) == ("zoom", "recording.completed")
    assert event.dedupe_key == f"recording.completed:{object_uuid}:{body['event_ts']}"
    assert event.payload["download_token"] == body["download_token"]
    assert events(callcentre.tenant_id) == []


def test_a_phone_recording_dedupes_on_its_recording_ids(client, sunny):
    body = recording(sunny, "zoom_phone.recording_completed.json")

    assert post(client, body, sunny.zoom_secret).status_code == 202

    [event] = events(sunny.tenant_id)
    ids = ",".join(r["id"] for r in body["payload"]["object"]["recordings"])
    assert event.dedupe_key == f"phone.recording_completed:{ids}:{body['event_ts']}"


@pytest.mark.parametrize(
    ("make", "status", "code"),
    [
        (lambda a: (recording(a), "wrong-token", {}), 401, "invalid_signature"),
        (lambda a: (recording(a), "zoom_token_callcentre", {}), 401, "invalid_signature"),
        (lambda a: (recording(a), a.zoom_secret, {"timestamp": int(time.time()) - 400}), 401, "invalid_signature"),
        (lambda a: ({**recording(a), "payload": {"account_id": "zoom-nobody"}}, a.zoom_secret, {}), 404,
         "unknown_tenant"),
        (lambda a: ({**recording(a), "payload": {"object": {}}}, a.zoom_secret, {}), 422, "missing_field"),
        (lambda a: ({"payload": {"account_id": a.zoom_account}}, a.zoom_secret, {}), 422, "missing_field"),
    ],
    ids=["wrong-token", "other-tenants-token", "stale", "unknown-account", "no-account", "no-event"],
)
def test_refusals_store_nothing(client, sunny, callcentre, make, status, code):
    body, secret, header_args = make(sunny)

    response = post(client, body, secret, **header_args)

    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert count_all_events([sunny.tenant_id, callcentre.tenant_id]) == 0
