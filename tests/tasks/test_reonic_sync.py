"""Reonic webhooks carry ids only: the handler reads the object from the API (a respx fake of Reonic),
applies it under the ordering rule, and treats a 404 as a delete. Bodies are Reonic's own shapes
(tests/fixtures/providers)."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from hookline.db import global_session, tenant_session
from hookline.integrations.auth import TokenSet
from hookline.models import Contact, DeadLetter, ResidentialOffer, ResidentialProject, WebhookEvent
from hookline.services import inbox, records, tokens
from hookline.services.tenants import tenant_connection
from hookline.tasks.reonic_sync import fetch
from hookline.workers.app import app
from hookline.workers.handlers import handler_for
from tests.support.fake_reonic import API_KEY, sample
from tests.support.webhooks import shared

ID = shared("reonic_contact_created.json")["data"]["contactId"]  # Reonic's examples use one id for everything


def stored_event(tenant, name_or_body, key="evt-1") -> int:
    body = shared(name_or_body) if isinstance(name_or_body, str) else name_or_body
    with tenant_session(tenant.id) as session:
        return inbox.store(session, tenant.id, provider="reonic", event_type=body["type"], dedupe_key=key,
                           payload=body).event_id


def run(tenant, event_id, task=fetch):
    return task.apply(kwargs={"tenant_id": tenant.id, "event_id": event_id})


def event_row(tenant, event_id) -> WebhookEvent:
    with tenant_session(tenant.id) as session:
        return inbox.get(session, tenant.id, event_id)


def row(tenant, model, external_id=ID):
    with tenant_session(tenant.id) as session:
        found = records.find(session, tenant.id, model, external_id, provider="reonic")
        session.expunge_all()
        return found


def test_contact_created_reads_the_contact_fresh_with_the_api_key_and_stores_it_once(tenant, reonic):
    reonic.contacts[ID] = sample("contact", id=ID)
    event_id = stored_event(tenant, "reonic_contact_created.json")

    run(tenant, event_id).get()
    run(tenant, event_id).get()  # a redelivery

    [call] = reonic.calls(f"/contacts/{ID}")  # the second found the event processed and read nothing
    assert call.headers["x-authorization"] == API_KEY
    assert call.headers["reonic-cache-control"] == "no-cache"  # not an hour-old cached copy
    contact = row(tenant, Contact)
    assert (contact.name, contact.email, contact.phone, contact.deleted_at) == (
        "Jonas Becker", "jonas.becker@example.com", "+4917612345678", None)
    assert event_row(tenant, event_id).status == "processed"


@pytest.mark.parametrize("fixture", ["reonic_project_created.json", "reonic_residentialProject_created.json"])
def test_a_project_event_stores_the_project_as_the_api_returns_it(tenant, reonic, fixture):
    reonic.projects[ID] = sample("residential_project", id=ID, stage="installation")
    event_id = stored_event(tenant, fixture)

    run(tenant, event_id).get()

    [call] = reonic.calls(f"/residentialProjects/{ID}")
    assert call.headers["reonic-cache-control"] == "no-cache"
    project = row(tenant, ResidentialProject)
    assert (project.stage, project.deal_state, project.contact_external_id, project.archived_at) == (
        "installation", "Open", "7f1b2c3d-0001-4e5f-8a9b-0c1d2e3f4a5b", None)
    assert event_row(tenant, event_id).status == "processed"


@pytest.mark.parametrize("event_type", ["project_kanbanColumnChanged", "project_dealStateChanged",
                                        "residentialProject_kanbanColumnChanged",
                                        "residentialProject_dealStateChanged"])
def test_kanban_and_deal_state_changes_read_the_project_again(tenant, reonic, event_type):
    # Reonic's spec has no example bodies for these: its documented fields, with our values.
    body = {"version": 1, "type": event_type, "occurredAt": "2026-11-20T09:00:00.000Z",
            "data": {"projectId": ID, "previousDealState": "Open", "newDealState": "Won"}}
    if event_type.startswith("project_"):
        body["data"]["projectType"] = "residential"
    reonic.projects[ID] = sample("residential_project", id=ID, deal={"state": "Won", "decidedAt":
                                                                     "2026-11-20T09:00:00.000Z"})
    assert handler_for("reonic", event_type) is not None

    run(tenant, stored_event(tenant, body)).get()

    assert row(tenant, ResidentialProject).deal_state == "Won"


def test_an_archived_project_is_kept_with_its_archive_time_not_deleted(tenant, reonic):
    reonic.projects[ID] = sample("residential_project", id=ID, archivedAt="2026-11-20T10:00:00.000Z",
                                 updatedAt="2026-11-20T10:00:00.000Z")

    run(tenant, stored_event(tenant, "reonic_project_archived.json")).get()

    project = row(tenant, ResidentialProject)
    assert project.archived_at is not None and project.deleted_at is None


@pytest.mark.parametrize(("fixture", "state"), [
    ("reonic_residentialOffer_signatureRequested.json", {"status": "awaitingSignature"}),
    ("reonic_residentialOffer_signed.json", {"status": "signed", "signedAt": "2026-11-21T09:30:00.000Z",
                                             "signedVariantId": ID}),
    ("reonic_residentialOffer_signatureWithdrawn.json", {"status": "withdrawn",
                                                         "withdrawnAt": "2026-11-21T09:30:00.000Z"}),
])
def test_an_offer_event_stores_the_signature_request_read_from_its_project(tenant, reonic, fixture, state):
    reonic.projects[ID] = sample("residential_project", id=ID)
    reonic.signature_requests["other"] = sample("signature_request", id="other", projectId=ID)
    reonic.signature_requests[ID] = sample("signature_request", id=ID, projectId=ID, **state)

    run(tenant, stored_event(tenant, fixture)).get()

    [call] = reonic.calls(f"/residentialProjects/{ID}/signatureRequests")
    assert call.headers["reonic-cache-control"] == "no-cache"
    offer = row(tenant, ResidentialOffer)
    assert (offer.status, offer.project_external_id) == (state["status"], ID)
    assert row(tenant, ResidentialOffer, "other") is None  # only the one the event names


@pytest.mark.parametrize("fixture", ["reonic_commercialProject_created.json",
                                     "reonic_projectChecklist_segmentCompletionChanged.json",
                                     "reonic_projectChecklist_pdfGenerated.json"])
def test_commercial_projects_and_checklists_have_no_handler(fixture):
    assert handler_for("reonic", shared(fixture)["type"]) is None  # the ingress stores them `ignored`


def test_a_commercial_project_event_is_marked_ignored_without_reading_anything(tenant, reonic):
    body = shared("reonic_project_created.json")
    body = {**body, "data": {**body["data"], "projectType": "commercial"}}
    event_id = stored_event(tenant, body)

    run(tenant, event_id).get()

    assert reonic.requests == []
    assert event_row(tenant, event_id).status == "ignored"


def test_an_older_read_never_overwrites_a_newer_one_and_a_duplicate_changes_nothing(tenant, reonic):
    reonic.projects[ID] = sample("residential_project", id=ID, stage="installation",
                                 updatedAt="2026-11-20T12:00:00.000Z")
    run(tenant, stored_event(tenant, "reonic_project_created.json", key="evt-new")).get()
    stored = row(tenant, ResidentialProject)
    # A read that raced behind (a replica, a late worker) returns the project as it was before.
    reonic.projects[ID] = sample("residential_project", id=ID, stage="offer", updatedAt="2026-11-19T11:30:00.000Z")

    late = stored_event(tenant, "reonic_project_created.json", key="evt-old")
    run(tenant, late).get()

    again = row(tenant, ResidentialProject)
    assert (again.stage, again.source_version, again.updated_at) == ("installation", stored.source_version,
                                                                     stored.updated_at)
    assert event_row(tenant, late).status == "processed"  # dropped as older: not an error


def test_a_contact_gone_at_reonic_is_a_tombstone_a_late_event_cannot_revive(tenant, reonic):
    first = stored_event(tenant, "reonic_contact_created.json", key="evt-1")
    run(tenant, first).get()  # 404: deleted before we read it

    reonic.contacts[ID] = sample("contact", id=ID)  # a stale read of it as it was (updatedAt in the past)
    run(tenant, stored_event(tenant, "reonic_contact_created.json", key="evt-2")).get()

    contact = row(tenant, Contact)
    assert contact.deleted_at is not None and contact.email is None  # no ghost
    assert event_row(tenant, first).status == "processed"


def test_a_signature_request_no_longer_listed_deletes_the_offer(tenant, reonic):
    reonic.projects[ID] = sample("residential_project", id=ID)
    reonic.signature_requests[ID] = sample("signature_request", id=ID, projectId=ID)
    run(tenant, stored_event(tenant, "reonic_residentialOffer_signatureRequested.json", key="evt-1")).get()
    del reonic.signature_requests[ID]

    run(tenant, stored_event(tenant, "reonic_residentialOffer_signatureWithdrawn.json", key="evt-2")).get()

    assert row(tenant, ResidentialOffer).deleted_at is not None


def test_the_old_task_name_still_runs_every_event(tenant, reonic):
    reonic.projects[ID] = sample("residential_project", id=ID)
    event_id = stored_event(tenant, "reonic_project_created.json")

    # What a message published before `fetch` existed names: the worker looks it up by that name.
    run(tenant, event_id, app.tasks["hookline.tasks.reonic_sync.fetch_contact"]).get()

    assert row(tenant, ResidentialProject) is not None


def test_a_body_without_its_id_fails_without_calling_reonic(tenant, reonic):
    event_id = stored_event(tenant, {"type": "residentialOffer_signed", "data": {"projectId": ID}})

    run(tenant, event_id).get()

    assert reonic.requests == []
    event = event_row(tenant, event_id)
    assert event.status == "failed" and "signatureRequestId" in event.last_error


def test_a_revoked_api_key_fails_the_event_for_an_operator(tenant, reonic):
    reonic.contacts[ID] = sample("contact", id=ID)
    with global_session() as session:
        connection_id = tenant_connection(session, tenant.id, "reonic").id
    with tenant_session(tenant.id) as session:
        tokens.store(session, tenant.id, connection_id, "api_key", TokenSet("rnc_v3_revoked"))
    event_id = stored_event(tenant, "reonic_contact_created.json")

    run(tenant, event_id).get()

    event = event_row(tenant, event_id)
    assert event.status == "failed" and event.last_error.startswith("AuthExpired")
    assert row(tenant, Contact) is None


def test_a_rate_limited_read_leaves_the_event_pending_for_the_retry(tenant, reonic):
    reonic.outage[f"/contacts/{ID}"] = httpx.Response(429, headers={"Retry-After": "30"}, json={"message": "slow down"})
    event_id = stored_event(tenant, "reonic_contact_created.json")

    # Eagerly, Celery runs each retry at once (no countdown) until max_retries, then re-raises.
    result = run(tenant, event_id)

    # (an eager result carries the exception rebuilt as its base class, with the limiter's message)
    wait = float(re.search(r"next slot in ([\d.]+) s", str(result.result)).group(1))
    assert result.state == "FAILURE" and 25 < wait <= 31
    assert len(reonic.calls(f"/contacts/{ID}")) == 1  # every retry after the 429 was held back by the limiter: Retry-After obeyed
    # Each attempt's claim rolled back with its transaction; once the eager retries ran out the task
    # went to dead letters, which marks its event failed for an operator to replay.
    assert event_row(tenant, event_id).status == "failed"
    with tenant_session(tenant.id) as session:
        assert session.scalars(select(DeadLetter.reason).where(DeadLetter.tenant_id == tenant.id)).all() == [
            "retries_exhausted"]
