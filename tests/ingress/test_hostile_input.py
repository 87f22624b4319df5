"""Hostile bodies over real HTTP: duplicated JSON keys, bodies that are not UTF-8 and numbers PostgreSQL cannot
hold get a clean 400, store nothing; with a wrong signature, every route answers a 4xx without parsing more
than its scheme needs, and the ingress answers on after a burst of them."""

import asyncio

import httpx
import pytest

from tests.ingress.conftest import count_all_events
from tests.support.webhooks import encode, ghl_headers, payload, reonic_headers, stripe_headers, zoom_headers

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


# Bodies made to cost a parser dearly, each sent with a wrong signature (or key): refused with a 4xx, and
# where the scheme signs the raw bytes (all but Zoom, whose account is named inside the body), before parsing.
HOSTILE = {
    "nested-10000": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    "arrays-100000": b"[" * 100_000 + b"]" * 100_000,
    "huge-integer": b'{"amount": 1' + b"0" * 100_000 + b"}",  # past Python's 4,300-digit int limit
    "huge-exponent": b'{"amount": 1e999999}',
    "invalid-utf8": b'{"name": "\xff\xfe\xfd"}',
    "duplicate-keys": b'{"locationId": "loc-sunny-001", "locationId": "loc-callcentre-002"}',
}
WRONG = "0" * 64


def wrongly_signed(route: str, body: bytes, accounts, tenant_slug: str) -> dict:
    """A POST of `body` to `route`, its headers in the sender's shape but signed with the wrong secret or key."""
    json_type = {"content-type": "application/json"}
    if route == "ghl":
        return {"url": "/webhooks/ghl", "headers": ghl_headers(b"another body")}
    if route == "reonic":
        return {"url": "/webhooks/reonic", "headers": reonic_headers(
            body, secret="whsec_wrong", client_id=accounts.reonic_client, event_id="evt-hostile")}
    if route == "zoom":
        return {"url": "/webhooks/zoom", "headers": zoom_headers(body, secret="wrong")}
    if route == "payments":
        return {"url": f"/webhooks/payments/{accounts.payments_token}", "headers": stripe_headers(body, secret=WRONG)}
    return {"url": f"/webhooks/forms/{tenant_slug}", "headers": {**json_type, "x-api-key": "hlf_wrong"}}


ROUTES = ["ghl", "reonic", "zoom", "payments", "forms"]


@pytest.mark.parametrize("route", ROUTES)
def test_hostile_bodies_with_wrong_signatures_get_only_4xx_on_every_route(client, tenant, sunny, ingress_log, route):
    answers = {}
    for name, body in HOSTILE.items():
        request = wrongly_signed(route, body, sunny, tenant.slug)
        answers[name] = client.post(request["url"], content=body, headers=request["headers"])

    for name, response in answers.items():
        assert 400 <= response.status_code < 500, (name, response.status_code, response.text[:200])
        assert response.json()["error"]["code"], name
    # Signed over the raw bytes: the signature is checked first, so no body is even parsed.
    if route != "zoom":
        assert {response.status_code for response in answers.values()} == {401}, answers
    assert count_all_events([tenant.id]) == 0


def test_a_burst_of_hostile_ghl_bodies_at_once_is_refused_and_the_ingress_answers_on(client, tenant):
    bodies = list(HOSTILE.values()) * 20
    headers = ghl_headers(b"another body")

    async def burst() -> list[int]:  # all at once: the event loop checks them in one pass
        async with httpx.AsyncClient(base_url=str(client.base_url), timeout=30) as concurrent:
            answers = await asyncio.gather(*(concurrent.post("/webhooks/ghl", content=body, headers=headers)
                                             for body in bodies))
        return [answer.status_code for answer in answers]

    assert asyncio.run(burst()) == [401] * len(bodies)
    assert count_all_events([tenant.id]) == 0
    body = encode(payload("ghl/ContactCreate.json"))
    assert client.post("/webhooks/ghl", content=body, headers=ghl_headers(body)).status_code == 202


SIGNED_HOSTILE = {name: body for name, body in HOSTILE.items() if name != "duplicate-keys"}


@pytest.mark.parametrize("body", SIGNED_HOSTILE.values(), ids=SIGNED_HOSTILE.keys())
def test_a_correctly_signed_hostile_ghl_body_is_a_clean_400(client, tenant, body):
    response = client.post("/webhooks/ghl", content=body, headers=ghl_headers(body))

    assert response.status_code == 400, response.text[:300]
    assert response.json()["error"]["code"] == "invalid_json"
    assert count_all_events([tenant.id]) == 0
