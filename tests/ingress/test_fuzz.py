"""Property: no body and no headers, however odd, get a 5xx from any route (over real HTTP).

Besides noise, the strategies build deliveries that pass authentication (a tenant's real
secret or key) so that arbitrary JSON and forms reach the inbox insert itself.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.webhooks import encode, ghl_headers, reonic_headers, stripe_headers, zoom_headers

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ROUTES = ["/webhooks/ghl", "/webhooks/reonic", "/webhooks/zoom", "/webhooks/forms/sunny-solar",
          "/webhooks/forms/nobody", "/webhooks/payments/paytok_sunny_0123456789abcdef", "/webhooks/payments/x"]
HEADER_NAMES = ["content-type", "x-wh-signature", "x-ghl-signature", "x-reonic-client-id", "x-reonic-event-id",
                "x-reonic-event", "x-reonic-timestamp", "x-reonic-signature", "x-zm-signature",
                "x-zm-request-timestamp", "x-api-key", "idempotency-key", "stripe-signature", "content-length"]
# h11 refuses header values with leading or trailing whitespace, so the client could not send them.
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60).map(str.strip)
content_types = st.sampled_from(["application/json", "application/json; charset=utf-8",
                                 "application/x-www-form-urlencoded", "text/plain", "", "application/JSON"])
# JSON that json.dumps can write, including what PostgreSQL's JSONB refuses (NUL, lone surrogates).
json_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | json_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(json_text, children, max_size=4),
    max_leaves=20,
)
json_objects = st.dictionaries(json_text, json_values, max_size=6)


def assert_no_server_error(response):
    assert response.status_code < 500, (response.status_code, response.text)
    if response.status_code >= 400:
        assert set(response.json()["error"]) == {"code", "message"}


@FUZZ
@given(route=st.sampled_from(ROUTES), body=st.binary(max_size=300),
       headers=st.dictionaries(st.sampled_from(HEADER_NAMES), header_text, max_size=8), content_type=content_types)
def test_random_bytes_and_headers(client, sunny, route, body, headers, content_type):
    headers = {**headers, "content-type": content_type}
    headers.pop("content-length", None)  # httpx sets the true length
    assert_no_server_error(client.post(route, content=body, headers=headers))


def _raw(value) -> bytes:
    return json.dumps(value).encode()  # ensure_ascii: lone surrogates and NUL travel as \u escapes


@FUZZ
@given(body=json_objects, event_id=header_text, event=header_text)
def test_authenticated_reonic_deliveries_with_any_json(client, sunny, body, event_id, event):
    raw = _raw(body)
    headers = reonic_headers(raw, secret=sunny.reonic_secret, client_id=sunny.reonic_client, event_id=event_id,
                             event=event)
    assert_no_server_error(client.post("/webhooks/reonic", content=raw, headers=headers))


@FUZZ
@given(body=json_objects, form=st.lists(st.tuples(json_text, json_text), max_size=5), as_form=st.booleans(),
       idempotency=st.none() | header_text)
def test_authenticated_form_submissions_with_any_content(client, tenant, sunny, body, form, as_form, idempotency):
    headers = {"x-api-key": sunny.forms_key}
    if idempotency is not None:
        headers["idempotency-key"] = idempotency
    if as_form:
        from urllib.parse import urlencode

        raw = urlencode(form, encoding="utf-8", errors="surrogatepass").encode()
        headers["content-type"] = "application/x-www-form-urlencoded"
    else:
        raw, headers["content-type"] = _raw(body), "application/json"
    assert_no_server_error(client.post(f"/webhooks/forms/{tenant.slug}", content=raw, headers=headers))


@FUZZ
@given(body=json_objects, event_id=json_values, event_type=json_values, account=json_values)
def test_authenticated_payment_and_zoom_events_with_any_fields(client, sunny, body, event_id, event_type, account):
    payment = _raw({**body, "id": event_id, "type": event_type})
    zoom = _raw({**body, "event": event_type, "event_ts": event_id, "payload": {"account_id": sunny.zoom_account,
                                                                                "object": account}})
    assert_no_server_error(client.post(f"/webhooks/payments/{sunny.payments_token}", content=payment,
                                       headers=stripe_headers(payment, secret=sunny.payments_secret)))
    assert_no_server_error(client.post("/webhooks/zoom", content=zoom, headers=zoom_headers(zoom, secret=sunny.zoom_secret)))


@FUZZ
@given(body=json_objects, location=json_values, kind=json_values, timestamp=json_values)
def test_signed_ghl_bodies_with_any_fields(client, sunny, body, location, kind, timestamp):
    raw = encode({**body, "locationId": location, "type": kind, "timestamp": timestamp})
    assert_no_server_error(client.post("/webhooks/ghl", content=raw, headers=ghl_headers(raw)))
