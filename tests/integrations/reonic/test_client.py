"""The Reonic client: API key, page-based pagination, its two rate-limit buckets, no double submits."""

from __future__ import annotations

import httpx
import pytest

from hookline.integrations.errors import AuthExpired, Permanent, RateLimited, Transient
from hookline.integrations.ratelimit import Bucket
from tests.integrations.conftest import REONIC_API

NOTE = {"id": "8a4f0c3e-7a43-4c55-9a0e-3c3f0f7e0b11", "parent": {"type": "contact", "id": "c1"}}


def page(number: int, total_pages: int, ids: list[str]) -> dict:
    return {"data": [{"id": i, "firstName": "A", "lastName": "B"} for i in ids],
            "pagination": {"page": number, "perPage": len(ids), "total": 5, "totalPages": total_pages,
                           "next": None, "prev": None}}


def test_contacts_are_paged_by_page_number_with_the_api_key_header(respx_mock, reonic_client):
    route = respx_mock.get(f"{REONIC_API}/contacts").mock(side_effect=[
        httpx.Response(200, json=page(1, 3, ["a", "b"])), httpx.Response(200, json=page(2, 3, ["c", "d"])),
        httpx.Response(200, json=page(3, 3, ["e"]))])

    ids = [contact.id for contact in reonic_client.iter_contacts(updated_after="2026-11-01T00:00:00Z")]

    assert ids == ["a", "b", "c", "d", "e"]
    assert [call.request.url.params["page"] for call in route.calls] == ["1", "2", "3"]
    assert route.calls[0].request.url.params["updatedAt.gt"] == "2026-11-01T00:00:00Z"
    assert route.calls[0].request.headers["x-authorization"] == "pit-secret-token"


def test_the_same_idempotency_key_submits_once(respx_mock, reonic_client):
    route = respx_mock.post(f"{REONIC_API}/notes/create").respond(201, json=NOTE)

    first = reonic_client.create_note("contact", "c1", "Wants a battery", idempotency_key="call-77:note")
    second = reonic_client.create_note("contact", "c1", "Wants a battery", idempotency_key="call-77:note")

    assert route.call_count == 1
    assert first.id == second.id == NOTE["id"]


def test_a_refused_submit_frees_its_key_for_a_corrected_one(respx_mock, reonic_client):
    route = respx_mock.post(f"{REONIC_API}/notes/create").mock(side_effect=[
        httpx.Response(400, json={"message": "text too long"}), httpx.Response(201, json=NOTE)])

    with pytest.raises(Permanent):
        reonic_client.create_note("contact", "c1", "x" * 20_000, idempotency_key="k1")
    assert reonic_client.create_note("contact", "c1", "short", idempotency_key="k1").id == NOTE["id"]
    assert route.call_count == 2


def test_a_submit_without_an_answer_is_not_sent_again_while_unresolved(respx_mock, reonic_client):
    route = respx_mock.post(f"{REONIC_API}/activities/manual/create").mock(side_effect=httpx.ReadTimeout("slow"))
    call = dict(kind="call", outcome="noAnswer", note="rang twice", idempotency_key="call-78")

    with pytest.raises(Transient):
        reonic_client.log_activity("residentialProject", "p1", **call)
    with pytest.raises(Transient) as caught:
        reonic_client.log_activity("residentialProject", "p1", **call)

    assert route.call_count == 1  # the first POST may have gone through: no second one
    assert caught.value.retry_after > 0


def test_writes_spend_the_uncached_bucket_and_reads_the_cached_one(respx_mock, reonic_client):
    reonic_client.uncached = Bucket("uncached", 2, 60.0)
    respx_mock.post(f"{REONIC_API}/contacts/c1/update").respond(200, json={"id": "c1"})
    reads = respx_mock.get(f"{REONIC_API}/contacts/c1").respond(200, json={"id": "c1"})

    reonic_client.update_contact("c1", {"firstName": "Ana"})
    reonic_client.update_contact("c1", {"firstName": "Ana"})
    with pytest.raises(RateLimited) as caught:
        reonic_client.update_contact("c1", {"firstName": "Ana"})

    assert 55 <= caught.value.retry_after <= 60.001  # the window, plus the limiter's 1 ms margin
    assert reonic_client.get_contact("c1").id == "c1"  # reads have their own 500/min
    assert reads.call_count == 1


def test_a_429_blocks_only_the_bucket_it_names_for_retry_after(respx_mock, reonic_client):
    writes = respx_mock.post(f"{REONIC_API}/contacts/c1/update").respond(
        429, headers={"Retry-After": "40", "X-RateLimit-Bucket": "uncached"})
    respx_mock.get(f"{REONIC_API}/contacts/c1").respond(200, json={"id": "c1"})

    with pytest.raises(RateLimited) as caught:
        reonic_client.update_contact("c1", {"firstName": "Ana"})
    with pytest.raises(RateLimited):
        reonic_client.update_contact("c1", {"firstName": "Ana"})

    assert 39 <= caught.value.retry_after <= 40
    assert writes.call_count == 1
    assert reonic_client.get_contact("c1").id == "c1"


def test_remaining_zero_in_the_headers_holds_the_next_read_back(respx_mock, reonic_client):
    reads = respx_mock.get(f"{REONIC_API}/contacts/c1").respond(200, json={"id": "c1"}, headers={
        "X-RateLimit-Bucket": "cached", "X-RateLimit-Limit": "500", "X-RateLimit-Remaining": "0"})

    reonic_client.get_contact("c1")
    with pytest.raises(RateLimited):
        reonic_client.get_contact("c1")

    assert reads.call_count == 1


def test_a_refused_api_key_marks_the_connection_and_stops(respx_mock, reonic_client, token_store):
    route = respx_mock.get(f"{REONIC_API}/contacts/c1").respond(401, json={"message": "invalid key"})

    with pytest.raises(AuthExpired):
        reonic_client.get_contact("c1")
    with pytest.raises(AuthExpired):
        reonic_client.get_contact("c1")

    assert route.call_count == 1
    assert token_store.needs_reauth == "Reonic API key refused"
