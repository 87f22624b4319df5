"""An agency installs the app on 50 locations: a real ingress and Celery worker against the fake GoHighLevel.

The rate limits are small (8 requests a second per location and for the company), so the listing
and the 50 mints wait for the company's; the fake counts every request per location and company
and refuses (429) past its limit.
"""

from __future__ import annotations

import time

import httpx
import psycopg
import pytest
from sqlalchemy import select

from hookline.db import global_session, tenant_session
from hookline.integrations.ghl.auth import COMPANY
from hookline.models import Connection, ConnectionToken, Contact, CrmPush, SyncRun, Tenant
from hookline.secrets_box import unseal
from hookline.services import ghl_connect
from hookline.tasks.ghl_sync import push_recording_note, reconcile
from hookline.tasks.reconciling import start_sync
from tests.conftest import ADMIN_URL, DATABASE
from tests.support.fake_ghl import FakeGHL, serve
from tests.support.ingress import ingress
from tests.support.processes import wait_for
from tests.support.sync import clear_limits
from tests.support.webhooks import encode, ghl_headers, shared
from tests.support.workers import celery_worker

CLIENT_ID = "ve9EPM428h8vShlRW1KT-lmw2x1"
COMPANY_ID = "company-e2e"
LOCATIONS, LIMIT, WINDOW = 50, 8, 1.0
RESOURCES = {"contacts", "opportunities", "appointments"}


def runs() -> dict[int, list[SyncRun]]:
    with global_session() as session:
        tenant_ids = session.scalars(select(Tenant.id)).all()
    found = {}
    for tenant_id in tenant_ids:
        with tenant_session(tenant_id) as session:
            found[tenant_id] = list(session.scalars(select(SyncRun).where(SyncRun.tenant_id == tenant_id)))
    return found


def backfilled(count: int, *, after: float = 0.0) -> bool:
    """`count` tenants, each with every resource's run finished (idle) since `after` (one query, as the admin)."""
    time.sleep(0.3)  # polled: keep the CPU for the worker
    with psycopg.connect(ADMIN_URL, dbname=DATABASE) as admin:
        done = admin.execute(
            "SELECT count(*) FROM (SELECT tenant_id FROM sync_runs WHERE provider = 'ghl' GROUP BY tenant_id"
            " HAVING count(*) FILTER (WHERE state = 'idle' AND finished_at > to_timestamp(%s)) = %s) AS t",
            (after, len(RESOURCES))).fetchone()[0]
    return done >= count


def tenant_of(location_id: str) -> int:
    with global_session() as session:
        return session.scalar(select(Connection.tenant_id).where(Connection.account_id == location_id))


@pytest.fixture()
def fake() -> FakeGHL:
    fake = FakeGHL(client_id=CLIENT_ID, limit=LIMIT, window=WINDOW)
    for location in fake.install_agency(COMPANY_ID, LOCATIONS):
        fake.add_contacts(location, 3)
    return fake


def test_an_agency_install_of_50_locations_and_an_uninstall(clean_tables, fake, redis_client, tmp_path, monkeypatch):
    clear_limits(redis_client)
    redis_client.delete("ghl_sync")
    with serve(fake.app()) as url:
        env = {"HOOKLINE_GHL_API_URL": url, "HOOKLINE_GHL_CLIENT_ID": CLIENT_ID,
               "HOOKLINE_GHL_CLIENT_SECRET": fake.client_secret, "HOOKLINE_GHL_REDIRECT_URL": "https://h.example/cb",
               "HOOKLINE_GHL_BURST_LIMIT": str(LIMIT), "HOOKLINE_GHL_BURST_WINDOW_SECONDS": str(WINDOW),
               "HOOKLINE_GHL_INSTALL_PAGE_LIMIT": "7", "HOOKLINE_SYNC_PAGE_LIMIT": "2",
               "HOOKLINE_CONNECTION_CACHE_SECONDS": "0"}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        worker_log = tmp_path / "worker.log"
        with ingress(tmp_path / "ingress.log", **env) as ingress_url, \
                celery_worker(worker_log, queues="ghl_sync", concurrency=4, **env), \
                httpx.Client(base_url=ingress_url, timeout=10) as http:
            # given: the agency clicked through the Marketplace's bulk install
            state = ghl_connect.make_state(user_type=COMPANY)
            answer = http.get("/oauth/ghl/callback", params={"code": fake.issue_code(COMPANY_ID, COMPANY),
                                                             "state": state})
            assert answer.status_code == 200, answer.text

            # then: every location becomes a tenant with its first backfill finished
            wait_for(lambda: backfilled(LOCATIONS), timeout=120, what="50 connected and backfilled tenants")

            # LocationUpdate: the tenant's name follows, its time zone from GET /locations/{id}
            renamed = fake.agencies[COMPANY_ID][1]
            fake.locations[renamed]["timezone"] = "Asia/Tokyo"
            body = encode(shared("ghl_LocationUpdate.json") | {"id": renamed, "name": "Branch Renamed"})
            assert http.post("/webhooks/ghl", content=body, headers=ghl_headers(body, "ed25519")).status_code == 202
            wait_for(lambda: _tenant(renamed) == ("Branch Renamed", "Asia/Tokyo"), timeout=20, what="the rename")

            # when: the app is uninstalled from one location
            gone = fake.agencies[COMPANY_ID][0]
            gone_tenant = tenant_of(gone)
            body = encode(shared("ghl_AppUninstall_location.json") | {"locationId": gone})
            assert http.post("/webhooks/ghl", content=body, headers=ghl_headers(body, "ed25519")).status_code == 202
            wait_for(lambda: _status(gone) == "uninstalled", timeout=20, what="the uninstall")
            since = time.time()

            # and every kind of its work is asked for again: beat's start of a run, a reconcile
            # task already queued, a push queued before the uninstall, a webhook
            assert start_sync(gone_tenant, "ghl", "contacts") == "disconnected"
            reconcile.apply_async(kwargs={"tenant_id": gone_tenant, "resource": "opportunities"})
            with tenant_session(gone_tenant) as session:
                push = CrmPush(tenant_id=gone_tenant, kind="recording_note", key="recording:queued-before", subject_id=1)
                session.add(push)
                session.flush()
                push_id = push.id
            push_recording_note.apply_async(kwargs={"tenant_id": gone_tenant, "push_id": push_id})
            body = encode(shared("ghl_LocationUpdate.json") | {"id": gone})
            assert http.post("/webhooks/ghl", content=body, headers=ghl_headers(body, "ed25519")).status_code == 404
            wait_for(lambda: _logged(worker_log, "no active GoHighLevel connection") and _logged(worker_log, "sync.failed"),
                     timeout=30, what="the push and the reconcile to stop at the gate")
            with tenant_session(gone_tenant) as session:
                assert session.get(CrmPush, push_id).state == "skipped"

    # 50 tenants, each its own token, minted once
    with global_session() as session:
        connections = session.execute(select(Connection.tenant_id, Connection.account_id, Connection.status)).all()
    assert len(connections) == LOCATIONS and {c.account_id for c in connections} == set(fake.agencies[COMPANY_ID])
    tokens = {}
    for tenant_id, location, status in connections:
        with tenant_session(tenant_id) as session:
            rows = session.scalars(select(ConnectionToken)).all()
        assert (status, len(rows)) == (("uninstalled", 0) if location == gone else ("active", 1)), location
        tokens.update((location, unseal(row.access_token)) for row in rows if row.kind == "minted")
    assert len(set(tokens.values())) == LOCATIONS - 1
    assert set(fake.minted.values()) == {1}
    # no location (nor the company) was ever over its limit: the fake never had to refuse a request
    assert sum(fake.refused_429.values()) == 0
    assert max(fake.max_in_window(resource) for resource in fake.accepted) <= LIMIT
    # the uninstalled location: its data stays, no request named it after the uninstall, no run is running
    assert fake.named(gone, since) == []
    assert all(row.state != "running" for row in runs()[gone_tenant])
    with tenant_session(gone_tenant) as session:
        assert len(session.scalars(select(Contact).where(Contact.tenant_id == gone_tenant)).all()) == 3


def _logged(log, event: str) -> bool:
    return event in log.read_text(errors="replace")


def _tenant(location_id: str) -> tuple[str, str]:
    with global_session() as session:
        return session.execute(select(Tenant.name, Tenant.timezone).join(Connection, Connection.tenant_id == Tenant.id)
                               .where(Connection.account_id == location_id)).one()


def _status(location_id: str) -> str:
    with global_session() as session:
        return session.scalar(select(Connection.status).where(Connection.account_id == location_id))
