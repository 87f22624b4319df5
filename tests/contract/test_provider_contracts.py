"""Every request the clients make is accepted by Prism validating it against the provider's own OpenAPI document.

Prism answers 401 without credentials, 422 for a request that breaks the document (a missing
`Version` header, a body field the schema does not allow or lacks), 2xx otherwise: a call that
returns here was valid. Answers are the documents' examples, so the typed results parse them too.
"""

from __future__ import annotations

import io
import uuid

import pytest

from hookline.integrations.auth import HeaderAuth, StaticToken, TokenSet
from hookline.integrations.errors import NotFound, Permanent
from hookline.integrations.ghl import auth as ghl_auth
from hookline.integrations.ghl import client as ghl
from hookline.integrations.ghl import resources as r
from hookline.integrations.ghl.company import GHLCompanyClient
from hookline.integrations.idempotency import IdempotencyGuard
from hookline.integrations.reonic import client as reonic
from hookline.integrations.reonic.schemas import ContactIds, OfferIds, ProjectIds
from hookline.services import sync_sources
from hookline.tasks.reonic_sync import READERS
from tests.support.tokens import MemoryTokenStore

ID = "123e4567-e89b-12d3-a456-426614174000"  # Reonic ids are UUIDs


def ghl_for(prism, spec: str, bearer, limiter) -> ghl.GHLClient:
    return ghl.make_client(base_url=prism(f"ghl/{spec}.json"), auth=bearer, limiter=limiter, location_id="loc-1",
                           app_id="app", attempts=1)


@pytest.fixture()
def reonic_client(prism, limiter, redis_client) -> reonic.ReonicClient:
    auth = HeaderAuth(StaticToken(MemoryTokenStore(TokenSet("rnc_v3_contract")), "Reonic API key"), "X-Authorization", "{}")
    guard = IdempotencyGuard(redis_client, f"test:{uuid.uuid4().hex}:reonic")
    return reonic.make_client(base_url=prism("reonic/reonic-v3.json"), auth=auth, limiter=limiter, guard=guard,
                              account="acct", attempts=1)


def test_ghl_contacts_and_notes(prism, bearer, limiter):
    client = ghl_for(prism, "contacts", bearer, limiter)

    assert client.get_contact("c1").id
    assert client.upsert_contact(r.ContactIn(location_id="loc-1", email="ana@example.com", first_name="Ana",
                                             tags=["solar"], custom_fields=[r.CustomFieldIn(id="cf-roof", field_value="south")])).contact.id
    client.search_contacts(page=2, page_limit=50, query="ana")
    client.contacts_updated_since("2026-01-01T00:00:01.000Z", page=3, page_limit=100)  # the reconciliation's search
    client.notes("c1")
    assert client.create_note("c1", "Called back", user_id="u1").id
    # What the pushes send (tasks/ghl_sync.py): the dunning tag set and cleared, a recording's note.
    client.add_tags("c1", ["hookline:dunning-suspended"])
    client.remove_tags("c1", ["hookline:dunning-suspended"])
    assert client.create_note("c1", "Call recording (recorded 2026-11-04 10:00 UTC, 2:00 min): "
                                    "s3://recordings/1/recordings/2026/11/7.wav\n(hookline recording 7)").id


def test_ghl_opportunities(prism, bearer, limiter):
    client = ghl_for(prism, "opportunities", bearer, limiter)

    assert client.pipelines()[0].id
    client.search_opportunities(limit=50, pipeline_id="p1", status="open")
    client.search_opportunities(limit=50, start_after=1_700_000_000_000, start_after_id="o9")
    assert client.get_opportunity("o1").id
    assert client.create_opportunity(r.OpportunityIn(location_id="loc-1", pipeline_id="p1", name="Roof", status="open",
                                                     contact_id="c1", monetary_value=9000)).id
    client.update_opportunity("o1", r.OpportunityUpdate(pipeline_stage_id="s2", monetary_value=9500))
    client.set_opportunity_status("o1", "lost", lost_reason_id="lr1")


def test_ghl_opportunities_reconciliation_walk(prism, bearer, limiter):
    client = ghl_for(prism, "opportunities", bearer, limiter)

    first = sync_sources.read_ghl_opportunities(client, {}, 100)  # the pipelines
    second = sync_sources.read_ghl_opportunities(client, first.cursor, 100)
    sync_sources.read_ghl_opportunities(client, {"pipelines": True, "start_after": 1_625_203_104_328,
                                                 "start_after_id": "yWQobCRIhRguQtD2llvk"}, 100)

    assert first.items and all(item.id for item in second.items)


def test_ghl_calendars(prism, bearer, limiter):
    client = ghl_for(prism, "calendars", bearer, limiter)

    client.get_appointment("e1")
    client.create_appointment(r.AppointmentIn(calendar_id="cal1", location_id="loc-1", contact_id="c1",
                                              start_time="2026-12-01T10:00:00+01:00", title="Site visit",
                                              status="confirmed", ignore_free_slot_validation=True))
    client.update_appointment("e1", r.AppointmentUpdate(status="showed"))
    client.calendar_events("cal1", 1_764_547_200_000, 1_765_152_000_000)


def test_ghl_appointments_reconciliation_walk(prism, bearer, limiter):
    client = ghl_for(prism, "calendars", bearer, limiter)

    first = sync_sources.read_ghl_appointments(client, {}, 100)  # the calendars
    second = sync_sources.read_ghl_appointments(client, first.cursor, 100)

    assert first.items and first.cursor["calendars"] and all(item.id for item in second.items)


def test_ghl_call_recording_download(prism, bearer, limiter):
    client = ghl_for(prism, "conversations", bearer, limiter)

    client.download_recording("m1", io.BytesIO())


def test_ghl_token_refresh_and_code_exchange(prism):
    app = ghl_auth.make_oauth_app(prism("ghl/oauth.json"), "client-id", "client-secret")

    assert app.refresh("refresh-token").access_token
    tokens, _ = app.exchange_code("code-from-install", "https://hookline.example/oauth/ghl")
    assert tokens.refresh_token


def test_ghl_marketplace_install_calls(prism, bearer, limiter):
    """What an install sends: the Company exchange, the agency's listing and mints, the location read."""
    app = ghl_auth.make_oauth_app(prism("ghl/oauth.json"), "client-id", "client-secret")
    agency = ghl.make_client(base_url=prism("ghl/oauth.json"), auth=bearer, limiter=limiter, location_id="company-1",
                             app_id="app", attempts=1, client_class=GHLCompanyClient)

    tokens, details = app.exchange_code("code-from-install", "https://hookline.example/oauth/ghl", ghl_auth.COMPANY)
    page = agency.installed_locations(skip=10, limit=5)
    minted = agency.location_token("l1C08ntBrFjLS0elLIYU")  # the document's example location
    location = ghl_for(prism, "locations", bearer, limiter).get_location("loc-1")

    assert tokens.refresh_token and details["userId"]
    assert all(item.id for item in page.locations)
    assert minted.access_token and minted.refresh_token is None
    assert location.id


def test_the_mock_refuses_what_the_document_forbids(prism, bearer, limiter):
    client = ghl_for(prism, "contacts", bearer, limiter)

    with pytest.raises(Permanent):  # no Version header: 422 from the validator, so 2xx above means valid
        client.json("GET", "/contacts/c1")


def test_reonic_contacts(reonic_client):
    assert reonic_client.get_contact(ID).id
    reonic_client.list_contacts(page=2, per_page=200, updated_after="2026-11-01T00:00:00Z", sort="-updatedAt")
    reonic_client.create_contact({"firstName": "Ana", "lastName": "Lind", "marketingConsent": False,
                                  "primaryEmail": "ana@example.com"}, idempotency_key=f"{uuid.uuid4()}")
    reonic_client.update_contact(ID, {"mobile": "+49 170 000000"})


def test_reonic_projects_and_offers(reonic_client):
    # Two values each: Prism refuses a one-item exploded array (`stage=offer`), which the format allows.
    reonic_client.list_projects(stages=["request", "offer"], deal_states=["Open", "Won"], contact_id=ID,
                                updated_after="2026-11-01T00:00:00Z")
    assert reonic_client.get_project(ID).id
    reonic_client.create_project({"stage": "request", "customerContact": {"id": ID},
                                  "address": {"street": "Hauptstraße", "houseNumber": "12", "postcode": "86150",
                                              "city": "Augsburg", "country": "Germany"}},
                                 idempotency_key=f"{uuid.uuid4()}")
    reonic_client.update_project(ID, {"stage": "offer"})
    reonic_client.offer_variants(ID)


def test_reonic_reads_of_the_webhook_handlers_and_the_reconciliation(reonic_client):
    # What tasks/reonic_sync.py sends for each webhook: fresh reads (Reonic-Cache-Control: no-cache).
    assert reonic_client.signature_requests(ID, fresh=True) is not None  # the route itself: no 404
    ids = {"contact": ContactIds(contactId=ID), "project": ProjectIds(projectId=ID),
           "offer": OfferIds(projectId=ID, signatureRequestId=ID)}
    for record, (read, _) in READERS.items():
        try:
            read(reonic_client, ids[record])
        except NotFound:  # the mock's example list holds no request with our id: asked, and answered 200
            assert record == "offer"
    # What each Reonic source of the reconciliation sends, on a first page and a later one of a run.
    for resource in ("contacts", "projects", "offers"):
        src = sync_sources.source("reonic", resource)
        src.read(reonic_client, {}, 100)
        src.read(reonic_client, {"since": "2026-11-01T00:00:00.000Z", "page": 2, "seen": "2026-11-02T00:00:00.000Z"},
                 100)


def test_reonic_notes_activities_files(reonic_client):
    reonic_client.list_notes("contact", ID)
    reonic_client.create_note("contact", ID, "**Wants** a battery", idempotency_key=f"{uuid.uuid4()}")
    reonic_client.list_activities("residentialProject", ID)
    reonic_client.log_activity("residentialProject", ID, kind="call", outcome="noAnswer", note="rang twice",
                               idempotency_key=f"{uuid.uuid4()}")
    reonic_client.list_files("residentialProject", ID)
    reonic_client.get_file(ID)
    upload = reonic_client.create_upload()
    reonic_client.create_file("residentialProject", ID, "call.mp3", upload_id=upload["uploadId"],
                              idempotency_key=f"{uuid.uuid4()}")
