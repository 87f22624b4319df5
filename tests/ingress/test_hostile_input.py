"""Hostile bodies over real HTTP: duplicated JSON keys, bodies that are not UTF-8 and numbers PostgreSQL cannot
hold get a clean 400, store nothing."""

import pytest

from tests.ingress.conftest import count_all_events
from tests.support.webhooks import reonic_headers

BODIES = {
    "duplicate-key": (b'{"email": "mia@example.com", "email": "eve@example.com"}', "duplicate key 'email'"),
    "nested-duplicate": (b'{"contact": {"id": "c1", "id": "c2"}}', "duplicate key 'id'"),
    "latin-1": ('{"name": "Mia Müller"}'.encode("latin-1"), "body is not UTF-8 (byte 15)"),
    "utf-16": ('{"name": "Mia"}'.encode("utf-16"), "body is not UTF-8 (byte 0)"),
    # Stored as sent, so a number PostgreSQL's numeric cannot hold would fail the insert: refused first.
    "tiny-exponent": (b'{"amount": 1e-20000}', "has more than 16383 decimal places"),
    "long-fraction": (b'{"amount": 0.' + b"0" * 16383 + b'1}', "has more than 16383 decimal places"),
}


@pytest.mark.parametrize(("body", "message"), BODIES.values(), ids=BODIES.keys())
def test_forms_refuse_ambiguous_or_non_utf8_json(client, tenant, sunny, body, message):
    response = client.post(f"/webhooks/forms/{tenant.slug}", content=body,
                           headers={"x-api-key": sunny.forms_key, "content-type": "application/json"})

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_json"
    assert message in response.json()["error"]["message"]
    assert count_all_events([tenant.id]) == 0


@pytest.mark.parametrize(("body", "message"), BODIES.values(), ids=BODIES.keys())
def test_a_correctly_signed_body_is_still_refused(client, tenant, sunny, body, message):
    headers = reonic_headers(body, secret=sunny.reonic_secret, client_id=sunny.reonic_client, event_id="hostile-1")

    response = client.post("/webhooks/reonic", content=body, headers=headers)

    assert response.status_code == 400, response.text
    assert message in response.json()["error"]["message"]
    assert count_all_events([tenant.id]) == 0


def test_a_non_utf8_form_is_refused(client, tenant, sunny):
    response = client.post(f"/webhooks/forms/{tenant.slug}", content="name=M%FCller&city=K\xf6ln".encode("latin-1"),
                           headers={"x-api-key": sunny.forms_key, "content-type": "application/x-www-form-urlencoded"})

    assert response.status_code == 400
    assert response.json()["error"] == {"code": "invalid_form", "message": "body is not UTF-8 (byte 20)"}
    assert count_all_events([tenant.id]) == 0
