"""Reconciliation in-process against the fake GoHighLevel: backfill, incremental, AuthExpired."""

from __future__ import annotations

import json

import pytest

from hookline.db import global_session, tenant_session
from hookline.services import contacts, sync
from hookline.services.tenants import add_tenant
from hookline.tasks.ghl_sync import reconcile
from tests.support.cli import hookline
from tests.support.fake_ghl import FakeGHL
from tests.support.sync import (
    LOCATION,
    connect,
    pointed_at,
    stored_contacts,
    sync_row,
)


@pytest.fixture()
def fake():
    return FakeGHL(limit=1000)


@pytest.fixture()
def ghl(fake, tenant, monkeypatch, redis_client):
    """The fake on loopback and the settings pointing at it."""
    with pointed_at(fake, monkeypatch, redis_client, SYNC_PAGES_PER_TASK="50") as url:
        yield url


def run(tenant, *, full: bool = False) -> None:
    with tenant_session(tenant.id) as session:
        assert sync.start(session, tenant.id, "ghl", "contacts", full=full, stale_after=900) == "started"
    reconcile.apply(kwargs={"tenant_id": tenant.id}).get()


def test_a_backfill_reads_every_page_and_records_its_progress(tenant, fake, ghl):
    connect(tenant, fake)
    fake.add_contacts(LOCATION, 250)

    run(tenant, full=True)

    assert stored_contacts(tenant) == (250, set(fake.contacts[LOCATION]))
    row = sync_row(tenant)
    assert (row.state, row.full, row.total, row.last_error) == ("idle", True, 250, None)
    # 100 + 100 + 52: each page starts at the last change read before (read again), the short page ends it
    assert (row.pages, row.rows) == (3, 252)
    last = max(fake.contacts[LOCATION].values(), key=lambda c: c["dateUpdated"])
    assert row.cursor == {"since": last["dateUpdated"], "page": 1}


def test_an_incremental_run_reads_only_what_changed_since_the_cursor(tenant, fake, ghl):
    connect(tenant, fake)
    fake.add_contacts(LOCATION, 250)
    run(tenant, full=True)
    boundary = max(fake.contacts[LOCATION].values(), key=lambda c: c["dateUpdated"])["id"]
    changed = sorted(fake.contacts[LOCATION])[10:13]
    fake.touch(LOCATION, changed)
    searches_before = len(fake.searches)

    run(tenant)

    incremental = fake.searches[searches_before:]
    assert len(incremental) == 1  # one short page
    # the changed contacts, and the one changed at the cursor's instant (read again, harmlessly)
    assert sorted(incremental[0]["returned"]) == sorted([boundary, *changed])
    with tenant_session(tenant.id) as session:
        names = {c.external_id: c.last_name for c in contacts.latest(session, tenant.id, limit=300)}
    assert all(names[c] == fake.contacts[LOCATION][c]["lastName"] for c in changed)
    assert stored_contacts(tenant)[0] == 250
    assert sync_row(tenant).rows == 4


def test_a_tie_longer_than_a_page_is_walked_by_page_number(tenant, fake, ghl, monkeypatch):
    connect(tenant, fake)
    fake.add_contacts(LOCATION, 230)
    for contact in fake.contacts[LOCATION].values():  # a bulk import: one instant for all
        contact["dateUpdated"] = "2026-01-01T00:00:00.000Z"
    run(tenant, full=True)
    assert stored_contacts(tenant) == (230, set(fake.contacts[LOCATION]))
    assert [s.get("page") for s in fake.searches] == [1, 1, 2, 3]


def test_auth_expired_stops_without_retrying_and_shows_in_sync_status(tenant, fake, ghl):
    fake.add_contacts(LOCATION, 5)  # no credentials stored for the tenant: AuthExpired before any call

    with tenant_session(tenant.id) as session:
        sync.start(session, tenant.id, "ghl", "contacts", stale_after=900)
    result = reconcile.apply(kwargs={"tenant_id": tenant.id})

    assert result.state == "SUCCESS"  # not RETRY: nothing will come of trying again
    row = sync_row(tenant)
    assert row.state == "failed" and row.last_error.startswith("AuthExpired")
    assert fake.searches == []
    output = hookline("sync", "status", "--tenant", tenant.slug)
    assert output.returncode == 0, output.stderr
    assert "failed" in output.stdout and "AuthExpired" in output.stdout


def test_sync_start_refuses_an_unknown_tenant_and_one_without_a_ghl_connection(tenant, ghl):
    with global_session() as session:
        add_tenant(session, "Forms Only")  # no GoHighLevel location

    unknown = hookline("sync", "start", "--tenant", "nobody")
    unconnected = hookline("sync", "start", "--tenant", "forms-only")

    assert unknown.returncode != 0 and "no tenant" in unknown.stderr
    assert unconnected.returncode != 0 and "no GoHighLevel connection" in unconnected.stderr
    assert sync_row(tenant) is None  # nothing started, nothing left behind


def test_sync_start_publishes_one_task_and_a_second_start_is_busy(tenant, fake, ghl, redis_client):
    connect(tenant, fake)
    redis_client.delete("ghl_sync")

    first = hookline("sync", "start", "--tenant", tenant.slug, "--full")
    second = hookline("sync", "start", "--tenant", tenant.slug)

    assert first.returncode == 0 and "started a full backfill" in first.stdout, first.stderr
    assert second.returncode != 0 and "already running" in second.stderr
    messages = [json.loads(m) for m in redis_client.lrange("ghl_sync", 0, -1)]
    assert [m["headers"]["task"] for m in messages] == ["hookline.tasks.ghl_sync.reconcile"]
    redis_client.delete("ghl_sync")
