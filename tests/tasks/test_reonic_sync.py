"""Reonic contact_created carries an id only: the handler fetches the contact (respx as Reonic) and upserts it."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from hookline.config import get_settings
from hookline.db import global_session, tenant_session
from hookline.integrations.auth import TokenSet
from hookline.models import Contact, DeadLetter, WebhookEvent
from hookline.services import inbox, tokens
from hookline.services.tenants import add_connection
from hookline.tasks.reonic_sync import fetch_contact
from tests.support.sync import clear_limits
from tests.support.webhooks import shared

REONIC = "http://reonic.test/rest/v3"
BODY = shared("reonic_contact_created.json")
CONTACT_ID = BODY["data"]["contactId"]


@pytest.fixture()
def reonic(tenant, monkeypatch, redis_client):
    clear_limits(redis_client)
    monkeypatch.setenv("HOOKLINE_REONIC_API_URL", REONIC)
    get_settings.cache_clear()
    with global_session() as session:
        connection = add_connection(session, tenant.id, "reonic", "reonic-sunny")
    with tenant_session(tenant.id) as session:
        tokens.store(session, tenant.id, connection.id, "api_key", TokenSet("reonic-api-key"))
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def stored_event(tenant, payload=BODY, key="evt-1") -> int:
    with tenant_session(tenant.id) as session:
        return inbox.store(session, tenant.id, provider="reonic", event_type="contact_created", dedupe_key=key,
                           payload=payload).event_id


def event_row(tenant, event_id) -> WebhookEvent:
    with tenant_session(tenant.id) as session:
        return inbox.get(session, tenant.id, event_id)


def reonic_contacts(tenant) -> list[Contact]:
    with tenant_session(tenant.id) as session:
        return list(session.scalars(select(Contact).where(Contact.tenant_id == tenant.id, Contact.provider == "reonic")))


def test_the_contact_is_fetched_with_the_api_key_and_upserted_once(tenant, reonic, respx_mock):
    route = respx_mock.get(f"{REONIC}/contacts/{CONTACT_ID}").respond(200, json={
        "id": CONTACT_ID, "firstName": "Grete", "lastName": "Sonne", "primaryEmail": "grete@example.de",
        "mobile": "+49 170 1234567", "updatedAt": "2026-01-01T15:30:00.000Z"})
    event_id = stored_event(tenant)

    fetch_contact.apply(kwargs={"tenant_id": tenant.id, "event_id": event_id}).get()
    fetch_contact.apply(kwargs={"tenant_id": tenant.id, "event_id": event_id}).get()  # a redelivery

    assert route.call_count == 1  # the second found the event processed and fetched nothing
    assert route.calls[0].request.headers["x-authorization"] == "reonic-api-key"
    [contact] = reonic_contacts(tenant)
    assert (contact.external_id, contact.email, contact.phone, contact.name) == (
        CONTACT_ID, "grete@example.de", "+49 170 1234567", "Grete Sonne")
    assert event_row(tenant, event_id).status == "processed"


def test_a_contact_gone_at_reonic_fails_the_event_for_an_operator(tenant, reonic, respx_mock):
    respx_mock.get(f"{REONIC}/contacts/{CONTACT_ID}").respond(404, json={"message": "not found"})
    event_id = stored_event(tenant)

    fetch_contact.apply(kwargs={"tenant_id": tenant.id, "event_id": event_id}).get()

    event = event_row(tenant, event_id)
    assert event.status == "failed" and event.last_error.startswith("NotFound")
    assert reonic_contacts(tenant) == []


def test_a_body_without_a_contact_id_fails_without_calling_reonic(tenant, reonic, respx_mock):
    route = respx_mock.get(url__startswith=REONIC).respond(200, json={})
    event_id = stored_event(tenant, payload={"type": "contact_created", "data": {}}, key="evt-bad")

    fetch_contact.apply(kwargs={"tenant_id": tenant.id, "event_id": event_id}).get()

    assert route.call_count == 0
    assert event_row(tenant, event_id).status == "failed"


def test_a_rate_limited_fetch_leaves_the_event_pending_for_the_retry(tenant, reonic, respx_mock):
    route = respx_mock.get(f"{REONIC}/contacts/{CONTACT_ID}").mock(return_value=httpx.Response(
        429, headers={"Retry-After": "30"}, json={"message": "slow down"}))
    event_id = stored_event(tenant)

    # Eagerly, Celery runs each retry at once (no countdown) until max_retries, then re-raises.
    result = fetch_contact.apply(kwargs={"tenant_id": tenant.id, "event_id": event_id})

    # (an eager result carries the exception rebuilt as its base class, with the limiter's message)
    wait = float(re.search(r"next slot in ([\d.]+) s", str(result.result)).group(1))
    assert result.state == "FAILURE" and 25 < wait <= 31
    assert route.call_count == 1  # every retry after the 429 was held back by the limiter: Retry-After obeyed
    # Each attempt's claim rolled back with its transaction; once the eager retries ran out the task
    # went to dead letters, which marks its event failed for an operator to replay.
    assert event_row(tenant, event_id).status == "failed"
    with tenant_session(tenant.id) as session:
        assert session.scalars(select(DeadLetter.reason).where(DeadLetter.tenant_id == tenant.id)).all() == [
            "retries_exhausted"]
