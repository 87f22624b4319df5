"""Opportunities (with pipelines and stages) and appointments reconciled in-process against the fake GoHighLevel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import select

from hookline.db import tenant_session
from hookline.models import Appointment, Calendar, Contact, Deal, Pipeline, PipelineStage
from hookline.services import crm, records, sync
from hookline.tasks.ghl_sync import reconcile
from tests.support.fake_ghl import FakeGHL
from tests.support.sync import LOCATION, connect, pointed_at, sync_row


@pytest.fixture()
def fake():
    return FakeGHL(limit=1000)


@pytest.fixture()
def ghl(fake, tenant, monkeypatch, redis_client):
    """The fake on loopback, the settings pointing at it, the tenant connected to it (2 pages per task)."""
    redis_client.delete("ghl_sync")
    with pointed_at(fake, monkeypatch, redis_client, SYNC_PAGES_PER_TASK="2") as url:
        connect(tenant, fake)
        yield url
    redis_client.delete("ghl_sync")


def start(tenant, resource: str, *, full: bool = False) -> None:
    with tenant_session(tenant.id) as session:
        assert sync.start(session, tenant.id, "ghl", resource, full=full, stale_after=900) == "started"


def run_until_idle(tenant, resource: str, *, most: int = 60) -> int:
    """Run the task as the chain would (each run reads up to 2 pages, then would publish the next): the task count."""
    for runs in range(1, most + 1):
        reconcile.apply(kwargs={"tenant_id": tenant.id, "resource": resource}).get()
        if sync_row(tenant, resource).state != "running":
            return runs
    raise AssertionError(f"{resource} still running after {most} tasks")


def rows(tenant, model):
    with tenant_session(tenant.id) as session:
        return {row.external_id: row for row in session.scalars(select(model).where(model.tenant_id == tenant.id))}


def webhook(tenant, event_type: str, body: dict, received_at: datetime) -> crm.Outcome:
    with tenant_session(tenant.id) as session:
        return crm.apply_ghl(session, tenant.id, event_type, {"locationId": LOCATION, **body}, received_at=received_at)


def test_a_contacts_page_never_overwrites_a_newer_webhook_and_beats_an_older_one(tenant, fake, ghl):
    fake.add_contacts(LOCATION, 3)
    read = datetime.fromisoformat(fake.contacts[LOCATION]["c2"]["dateUpdated"].replace("Z", "+00:00"))
    webhook(tenant, "ContactUpdate", {"id": "c2", "email": "new@example.com", "lastName": "FromWebhook",
                                      "dateUpdated": (read + timedelta(seconds=1)).isoformat()},
            received_at=datetime.now(UTC))
    webhook(tenant, "ContactUpdate", {"id": "c3", "email": "old@example.com", "lastName": "Stale",
                                      "dateUpdated": datetime(2025, 1, 1, tzinfo=UTC).isoformat()},
            received_at=datetime.now(UTC))
    start(tenant, "contacts", full=True)

    run_until_idle(tenant, "contacts")

    stored = rows(tenant, Contact)
    assert (stored["c2"].email, stored["c2"].last_name) == ("new@example.com", "FromWebhook")
    assert (stored["c3"].email, stored["c3"].last_name) == ("person3@example.com", None)
    assert stored["c1"].email == "person1@example.com"


def test_opportunities_backfill_pages_by_the_search_cursor_with_pipelines_and_stages(tenant, fake, ghl):
    fake.add_opportunities(LOCATION, 250)
    start(tenant, "opportunities", full=True)

    tasks = run_until_idle(tenant, "opportunities")

    deals = rows(tenant, Deal)
    assert set(deals) == set(fake.opportunities[LOCATION])
    assert deals["o5"].name == "Deal 5" and deals["o5"].status == "open" and deals["o5"].monetary_value == 5
    pipelines, stages = rows(tenant, Pipeline), rows(tenant, PipelineStage)
    assert pipelines["p1"].name == "Sales"
    assert [(s.name, s.position, s.pipeline_id) for s in (stages["s1"], stages["s2"])] == [
        ("New", 0, pipelines["p1"].id), ("Won", 1, pipelines["p1"].id)]
    assert deals["o5"].pipeline_id == pipelines["p1"].id and deals["o5"].stage_id == stages["s1"].id
    searches = [query for path, query in fake.reads if path == "/opportunities/search"]
    assert len(searches) == 3 and "startAfterId" not in searches[0]  # 100 + 100 + 50
    # each page asked for what the one before it ended with, never a page number
    assert [s["startAfterId"] for s in searches[1:]] == ["o100", "o200"]
    row = sync_row(tenant, "opportunities")
    assert (row.state, row.pages, row.rows, row.total, row.cursor) == ("idle", 4, 251, 250, {})
    assert tasks == 2  # two pages per task: a bounded run, continued from the committed cursor


def test_an_opportunities_run_goes_on_from_its_committed_cursor_in_a_new_task(tenant, fake, ghl):
    fake.add_opportunities(LOCATION, 250)
    start(tenant, "opportunities", full=True)
    reconcile.apply(kwargs={"tenant_id": tenant.id, "resource": "opportunities"}).get()  # pipelines + 1st page
    stopped = sync_row(tenant, "opportunities")
    reads_before = len(fake.reads)

    run_until_idle(tenant, "opportunities")  # a new task, as a redelivery or beat's resume would be

    assert stopped.state == "running" and stopped.cursor["start_after_id"] == "o100"
    resumed = [query for _, query in fake.reads[reads_before:]]
    assert [q.get("startAfterId") for q in resumed] == ["o100", "o200"]  # no pipelines, no first page again
    assert len(rows(tenant, Deal)) == 250


def test_an_opportunity_page_never_overwrites_a_newer_webhook(tenant, fake, ghl):
    fake.add_opportunities(LOCATION, 3)
    read = fake.opportunities[LOCATION]["o2"]["updatedAt"]
    newer = (datetime.fromisoformat(read.replace("Z", "+00:00")) + timedelta(minutes=5)).isoformat()
    webhook(tenant, "OpportunityStatusUpdate", {"id": "o2", "status": "won", "dateUpdated": newer},
            received_at=datetime.now(UTC))
    older = datetime(2025, 1, 1, tzinfo=UTC).isoformat()
    webhook(tenant, "OpportunityUpdate", {"id": "o3", "name": "Stale name", "status": "lost", "dateUpdated": older},
            received_at=datetime.now(UTC))
    start(tenant, "opportunities", full=True)

    run_until_idle(tenant, "opportunities")

    deals = rows(tenant, Deal)
    assert deals["o2"].status == "won"  # the webhook was newer than the page
    assert (deals["o3"].name, deals["o3"].status) == ("Deal 3", "open")  # the page was newer than the webhook
    assert deals["o1"].status == "open"


def test_a_finished_opportunities_walk_starts_over_and_picks_up_changes(tenant, fake, ghl):
    fake.add_opportunities(LOCATION, 5)
    start(tenant, "opportunities", full=True)
    run_until_idle(tenant, "opportunities")
    fake.change_opportunity(LOCATION, "o3", status="won")

    start(tenant, "opportunities")  # incremental: the search has no "changed since", so all again
    run_until_idle(tenant, "opportunities")

    assert rows(tenant, Deal)["o3"].status == "won"
    assert sync_row(tenant, "opportunities").pages == 2  # the pipelines, one short page


def test_appointments_backfill_walks_each_calendar_window_by_window(tenant, fake, ghl):
    now = datetime.now(UTC).replace(microsecond=0)
    fake.add_calendar(LOCATION, "cal-a", "Site visits")
    fake.add_calendar(LOCATION, "cal-b", "Calls")
    inside = [fake.add_appointment(LOCATION, "cal-a", now + timedelta(days=days)) for days in (-170, -1, 0, 40, 300)]
    inside.append(fake.add_appointment(LOCATION, "cal-b", now + timedelta(days=2), appointmentStatus="showed"))
    outside = fake.add_appointment(LOCATION, "cal-a", now + timedelta(days=400))  # past the horizon
    start(tenant, "appointments", full=True)

    run_until_idle(tenant, "appointments")

    appointments, calendars = rows(tenant, Appointment), rows(tenant, Calendar)
    assert set(appointments) == set(inside) and outside not in appointments
    assert {c.external_id: c.name for c in calendars.values()} == {"cal-a": "Site visits", "cal-b": "Calls"}
    showed = appointments[inside[-1]]
    assert (showed.status, showed.calendar_id, showed.contact_external_id) == ("showed", calendars["cal-b"].id, "c1")
    windows = [q for path, q in fake.reads if path == "/calendars/events"]
    assert {q["calendarId"] for q in windows} == {"cal-a", "cal-b"}
    for calendar in ("cal-a", "cal-b"):  # windows that follow one another without a gap
        spans = [(int(q["startTime"]), int(q["endTime"])) for q in windows if q["calendarId"] == calendar]
        assert all(a[1] == b[0] for a, b in pairwise(spans)) and len(spans) == 19
    row = sync_row(tenant, "appointments")
    assert (row.state, row.pages, row.cursor) == ("idle", 1 + 2 * 19, {})


def test_an_appointment_page_never_overwrites_a_newer_webhook(tenant, fake, ghl):
    now = datetime.now(UTC).replace(microsecond=0)
    fake.add_calendar(LOCATION, "cal-a", "Site visits")
    event_id = fake.add_appointment(LOCATION, "cal-a", now + timedelta(days=3))
    read = datetime.fromisoformat(fake.events[LOCATION][event_id]["dateUpdated"].replace("Z", "+00:00"))
    body = {**fake.events[LOCATION][event_id], "appointmentStatus": "cancelled",
            "dateUpdated": (read + timedelta(seconds=30)).isoformat()}
    webhook(tenant, "AppointmentUpdate", {"appointment": body}, received_at=datetime.now(UTC))
    start(tenant, "appointments", full=True)

    run_until_idle(tenant, "appointments")

    with tenant_session(tenant.id) as session:
        stored = records.find(session, tenant.id, Appointment, event_id)
    assert stored.status == "cancelled" and stored.source_version == read + timedelta(seconds=30)


def test_no_calendars_is_a_finished_walk_of_one_request(tenant, fake, ghl):
    start(tenant, "appointments", full=True)

    run_until_idle(tenant, "appointments")

    assert [path for path, _ in fake.reads] == ["/calendars/"]
    assert sync_row(tenant, "appointments").state == "idle"
