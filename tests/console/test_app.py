"""The console in-process (Starlette's TestClient) against the real database and broker: access, actions, audit."""

import re

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from hookline.config import load_settings
from hookline.console.app import create_app
from hookline.db import global_session, tenant_session
from hookline.integrations.auth import TokenSet
from hookline.models import AuditEntry, ReplayJob
from hookline.services import tokens
from hookline.services.tenants import tenant_connection
from tests.support.console import PASSWORDS, USERS, dead_letter, failed_event, many_failed_events, status_of
from tests.support.processes import wait_for


@pytest.fixture()
def console(monkeypatch, clean_tables, redis_client):
    monkeypatch.setenv("HOOKLINE_CONSOLE_USERS", USERS)
    redis_client.delete("ghl_sync", "ghl_sync.bulk")
    with TestClient(create_app(load_settings()), follow_redirects=False) as client:
        yield client
    redis_client.delete("ghl_sync", "ghl_sync.bulk")


def csrf(client, path="/login"):
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)[1]


def sign_in(client, name):
    response = client.post("/login", data={"name": name, "password": PASSWORDS[name], "csrf": csrf(client)})
    assert response.status_code == 303, response.text
    return csrf(client, "/tenants")


def audit():
    with global_session() as session:
        return [(entry.username, entry.action, entry.filter, entry.count)
                for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_a_wrong_password_is_refused_and_nothing_is_readable(console):
    refused = console.post("/login", data={"name": "bob", "password": "guess", "csrf": csrf(console)})
    unknown = console.post("/login", data={"name": "mallory", "password": "guess", "csrf": csrf(console)})

    assert refused.status_code == unknown.status_code == 401
    assert "Wrong name or password." in refused.text
    assert console.get("/events").headers["location"] == "/login"


def test_posts_without_the_sessions_csrf_token_are_refused(console, tenant):
    event_id = failed_event(tenant, "wh-csrf")

    login = console.post("/login", data={"name": "bob", "password": PASSWORDS["bob"]})
    sign_in(console, "bob")
    missing = console.post(f"/events/sunny-solar/{event_id}/replay")
    forged = console.post(f"/events/sunny-solar/{event_id}/replay", data={"csrf": "x" * 43})

    assert login.status_code == missing.status_code == forged.status_code == 403
    assert "CSRF" in missing.text
    assert status_of(tenant, event_id) == "failed"
    assert audit() == []


def test_a_viewer_sees_an_events_timeline_and_redacted_payload_but_cannot_replay(console, tenant):
    event_id = failed_event(tenant, "wh-viewer", api_token="tok-live-abcdef123456")
    token = sign_in(console, "alice")

    page = console.get(f"/events/sunny-solar/{event_id}")
    found = console.get("/events", params={"provider_event_id": "wh-viewer"})
    refused = console.post(f"/events/sunny-solar/{event_id}/replay", data={"csrf": token})

    assert page.status_code == 200
    timeline = page.text.split('id="timeline"')[1].split("</table>")[0]
    assert re.findall(r'class="state[^"]*">(\w+)<', timeline) == ["retried", "failed"]
    assert "ana.lindqvist@example.com" not in page.text and "tok-live-abcdef123456" not in page.text
    assert "ct-ana-lindqvist-01" in page.text  # ids stay
    assert f'href="/events/sunny-solar/{event_id}"' in found.text
    assert refused.status_code == 403 and "viewer" in refused.text
    assert status_of(tenant, event_id) == "failed"
    assert audit() == []


def test_a_bulk_replay_posted_twice_is_one_job_that_replays_each_event_once(console, tenant, other_tenant, redis_client):
    ours = [failed_event(tenant, f"wh-{n}") for n in range(3)]
    theirs = failed_event(other_tenant, "wh-theirs")
    token = sign_in(console, "bob")
    form = {"csrf": token, "key": "k" * 22, "tenant": "sunny-solar", "status": "failed"}

    first = console.post("/replays", data=form)
    second = console.post("/replays", data=form)

    assert first.headers["location"] == second.headers["location"]
    job_id = int(first.headers["location"].rsplit("/", 1)[1])
    job = wait_for(lambda: (found := _job(job_id)).state == "finished" and found, timeout=30, what="the job")
    assert (job.total, job.done, job.skipped, job.started_by) == (3, 3, 0, "bob")
    assert [status_of(tenant, event_id) for event_id in ours] == ["pending"] * 3
    assert status_of(other_tenant, theirs) == "failed"
    assert redis_client.llen("ghl_sync.bulk") == 3  # the bulk lane: live webhooks are not held up
    assert audit() == [("bob", "events.bulk_replay", {"tenant": "sunny-solar", "status": "failed"}, 3)]
    assert "3/3" in console.get(f"/replays/{job_id}").text


def test_a_running_bulk_replay_can_be_cancelled(console, tenant):
    many_failed_events(tenant, 3000)
    token = sign_in(console, "bob")

    started = console.post("/replays", data={"csrf": token, "key": "c" * 22, "tenant": "sunny-solar",
                                             "status": "failed"})
    job_id = int(started.headers["location"].rsplit("/", 1)[1])
    cancelled = console.post(f"/replays/{job_id}/cancel", data={"csrf": token})

    assert cancelled.status_code == 303
    job = _job(job_id)
    assert (job.state, job.cancelled_by, job.total) == ("cancelled", "bob", 3000)
    done = job.done
    assert done < 3000
    assert _job(job_id).done <= done + 1  # it stops after the event at hand
    assert [row[1] for row in audit()] == ["events.bulk_replay", "events.bulk_replay.cancel"]


def test_an_operator_discards_every_dead_letter_of_one_tenant(console, tenant, other_tenant):
    for n in range(2):
        dead_letter(tenant, f"task-{n}")
    dead_letter(other_tenant, "task-theirs")
    token = sign_in(console, "bob")

    response = console.post("/dead-letters", data={"csrf": token, "action": "discard", "all": "yes",
                                                   "tenant": "sunny-solar"})

    assert response.status_code == 303
    assert "No dead letters for sunny-solar" in console.get("/dead-letters?tenant=sunny-solar").text
    assert "call-centre-two" in console.get("/dead-letters").text
    assert audit() == [("bob", "dead_letters.discard", {"tenant": "sunny-solar", "all": True}, 2)]


def test_tenants_are_listed_worst_first_and_bad_filters_are_400(console, tenant, other_tenant):
    dead_letter(other_tenant, "task-1")
    sign_in(console, "alice")

    page = console.get("/tenants").text

    assert page.index("call-centre-two") < page.index("sunny-solar")
    assert "needs_reauth" not in page
    with global_session() as session:
        connection = tenant_connection(session, tenant.id, "ghl")
    with tenant_session(tenant.id) as session:
        tokens.store(session, tenant.id, connection.id, "oauth", TokenSet("access-tok-0123456789", "refresh-0123456789"))
        tokens.mark_needs_reauth(session, tenant.id, connection.id, "invalid_grant")
    page = console.get("/tenants").text
    assert page.index("sunny-solar") < page.index("call-centre-two")  # a broken connection is worse
    assert "needs_reauth" in page and "access-tok-0123456789" not in page
    assert console.get("/events?status=exploded").status_code == 400
    assert console.get("/events?since=yesterday").status_code == 400
    assert console.get("/events?tenant=nobody").status_code == 400
    assert console.get("/tenants?sort=nonsense").status_code == 400


def _job(job_id):
    with global_session() as session:
        return session.get(ReplayJob, job_id)


def test_an_operator_replays_one_event_and_a_ticked_dead_letter_and_starts_a_sync(console, tenant, redis_client):
    event_id = failed_event(tenant, "wh-one")
    letter_event = failed_event(tenant, "wh-letter")
    letter_id = dead_letter(tenant, "task-letter", letter_event)
    token = sign_in(console, "bob")

    replayed = console.post(f"/events/sunny-solar/{event_id}/replay", data={"csrf": token})
    letter = console.post("/dead-letters", data={"csrf": token, "action": "replay", "id": f"sunny-solar:{letter_id}"})
    synced = console.post("/syncs", data={"csrf": token, "tenant": "sunny-solar", "source": "ghl/contacts"})
    again = console.post("/syncs", data={"csrf": token, "tenant": "sunny-solar", "source": "ghl/contacts"})
    unknown = console.post("/syncs", data={"csrf": token, "tenant": "sunny-solar", "source": "ghl/nothing"})

    assert (replayed.status_code, letter.status_code, synced.status_code, again.status_code) == (303, 303, 303, 303)
    assert unknown.status_code == 400
    assert status_of(tenant, event_id) == status_of(tenant, letter_event) == "pending"
    assert redis_client.llen("ghl_sync") == 3  # the event, the dead letter's task, the sync's first page
    assert "running" in console.get("/syncs").text
    assert [(action, count) for _, action, _, count in audit()] == [
        ("event.replay", 1), ("dead_letters.replay", 1), ("sync.start", 1), ("sync.start", 0)]
