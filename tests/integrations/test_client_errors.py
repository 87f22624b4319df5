"""Status codes and transport failures become our error types; only idempotent calls are retried."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from hookline.integrations.errors import AuthExpired, NotFound, Permanent, RateLimited, Transient
from hookline.integrations.ghl.resources import ContactIn, OpportunityIn
from hookline.integrations.http import retry_after
from tests.integrations.conftest import GHL_API

OPPORTUNITY = OpportunityIn(location_id="loc-1", pipeline_id="p1", name="Roof", status="open", contact_id="c1")


def test_401_is_auth_expired_and_marks_the_private_token_refused(respx_mock, ghl_client, token_store):
    route = respx_mock.get(f"{GHL_API}/contacts/c1").respond(401, json={"message": "Invalid JWT"})

    with pytest.raises(AuthExpired):
        ghl_client.get_contact("c1")

    assert route.call_count == 1
    assert token_store.needs_reauth == "private-integration token refused"
    with pytest.raises(AuthExpired):  # no further attempt reaches the provider
        ghl_client.get_contact("c1")
    assert route.call_count == 1


def test_403_is_permanent_not_an_auth_problem(respx_mock, ghl_client, token_store):
    respx_mock.get(f"{GHL_API}/contacts/c1").respond(403, json={"message": "scope missing"})

    with pytest.raises(Permanent) as caught:
        ghl_client.get_contact("c1")

    assert not isinstance(caught.value, AuthExpired)
    assert token_store.needs_reauth is None


def test_404_is_not_found(respx_mock, ghl_client):
    respx_mock.get(f"{GHL_API}/contacts/nope").respond(404, json={"message": "Contact not found"})

    with pytest.raises(NotFound):
        ghl_client.get_contact("nope")


def test_422_is_permanent_with_the_providers_reason_and_not_retried(respx_mock, ghl_client):
    route = respx_mock.post(f"{GHL_API}/contacts/search").respond(422, json={"message": ["pageLimit must be a number"]})

    with pytest.raises(Permanent) as caught:
        ghl_client.search_contacts()

    assert "422" in str(caught.value) and "pageLimit" in str(caught.value)
    assert route.call_count == 1


def test_5xx_on_a_read_is_retried_with_backoff_until_it_answers(respx_mock, ghl_client):
    route = respx_mock.get(f"{GHL_API}/contacts/c1").mock(side_effect=[
        httpx.Response(503), httpx.Response(502), httpx.Response(200, json={"contact": {"id": "c1"}})])

    assert ghl_client.get_contact("c1").id == "c1"
    assert route.call_count == 3


def test_5xx_on_a_read_gives_up_as_transient_after_the_attempts(respx_mock, ghl_client):
    route = respx_mock.get(f"{GHL_API}/contacts/c1").respond(500)

    with pytest.raises(Transient):
        ghl_client.get_contact("c1")
    assert route.call_count == 3  # FAST: three attempts


def test_5xx_on_a_create_is_not_retried(respx_mock, ghl_client):
    route = respx_mock.post(f"{GHL_API}/opportunities/").respond(502)

    with pytest.raises(Transient):
        ghl_client.create_opportunity(OPPORTUNITY)
    assert route.call_count == 1  # a second POST could create a second opportunity


def test_timeout_on_a_create_is_transient_and_not_retried(respx_mock, ghl_client):
    route = respx_mock.post(f"{GHL_API}/opportunities/").mock(side_effect=httpx.ReadTimeout("slow"))

    with pytest.raises(Transient):
        ghl_client.create_opportunity(OPPORTUNITY)
    assert route.call_count == 1


def test_timeouts_on_a_read_are_retried(respx_mock, ghl_client):
    route = respx_mock.get(f"{GHL_API}/opportunities/o1").mock(side_effect=[
        httpx.ConnectTimeout("no"), httpx.ReadTimeout("slow"), httpx.Response(200, json={"opportunity": {"id": "o1"}})])

    assert ghl_client.get_opportunity("o1").id == "o1"
    assert route.call_count == 3


def test_upsert_is_idempotent_so_it_is_retried_and_a_status_put_too(respx_mock, ghl_client):
    upsert = respx_mock.post(f"{GHL_API}/contacts/upsert").mock(side_effect=[
        httpx.Response(502), httpx.Response(200, json={"new": True, "contact": {"id": "c9"}})])
    status = respx_mock.put(f"{GHL_API}/opportunities/o1/status").mock(side_effect=[
        httpx.Response(503), httpx.Response(200, json={"succeded": True})])

    assert ghl_client.upsert_contact(ContactIn(location_id="loc-1", email="ana@example.com")).contact.id == "c9"
    ghl_client.set_opportunity_status("o1", "won")
    assert (upsert.call_count, status.call_count) == (2, 2)


def test_429_with_a_long_retry_after_raises_rate_limited_and_blocks_the_key(respx_mock, ghl_client):
    route = respx_mock.get(f"{GHL_API}/contacts/c1").respond(429, headers={"Retry-After": "30"})

    with pytest.raises(RateLimited) as caught:
        ghl_client.get_contact("c1")
    assert 29 <= caught.value.retry_after <= 30

    with pytest.raises(RateLimited):  # blocked in Redis: the provider is not asked again
        ghl_client.get_contact("c1")
    assert route.call_count == 1


def test_429_with_a_short_retry_after_waits_exactly_that_long_then_goes_again(respx_mock, ghl_client):
    route = respx_mock.post(f"{GHL_API}/opportunities/").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "1"}), httpx.Response(201, json={"opportunity": {"id": "o2"}})])

    started = time.monotonic()
    assert ghl_client.create_opportunity(OPPORTUNITY).id == "o2"  # a 429 was not processed: safe to resend

    assert route.call_count == 2
    assert time.monotonic() - started >= 0.95


def test_every_request_carries_the_bearer_token_and_its_areas_version(respx_mock, ghl_client):
    contacts = respx_mock.get(f"{GHL_API}/contacts/c1").respond(200, json={"contact": {"id": "c1"}})
    events = respx_mock.get(f"{GHL_API}/calendars/events").respond(200, json={"events": []})

    ghl_client.get_contact("c1")
    ghl_client.calendar_events("cal-1", 0, 1000)

    assert contacts.calls[0].request.headers["authorization"] == "Bearer pit-secret-token"
    assert contacts.calls[0].request.headers["version"] == "2021-07-28"
    assert events.calls[0].request.headers["version"] == "2021-04-15"


def _response(value: str) -> httpx.Response:
    return httpx.Response(429, headers={"Retry-After": value})


def test_retry_after_reads_seconds_and_http_dates_and_ignores_garbage():
    now = time.time()
    in_a_minute = format_datetime(datetime.fromtimestamp(now, UTC) + timedelta(seconds=60), usegmt=True)

    assert retry_after(_response("7")) == 7
    assert retry_after(_response("2.5")) == 2.5
    assert 59 <= retry_after(_response(in_a_minute), now=now) <= 60
    assert retry_after(_response("Wed, 21 Oct 2015 07:28:00 GMT")) == 0  # in the past: go now
    assert retry_after(_response("soon")) is None
    assert retry_after(httpx.Response(429)) is None


def test_api_clients_share_one_verifying_tls_context():
    import ssl

    from hookline.integrations.http import tls_context

    context = tls_context()

    assert context is tls_context()  # built once a process, not per client
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
