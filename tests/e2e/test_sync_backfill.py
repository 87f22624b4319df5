"""A backfill through real Celery workers: many small tasks, rate-limit retries, a SIGKILLed worker resumed."""

from __future__ import annotations

import os
import re
import signal
from datetime import UTC, datetime, timedelta

import pytest

from hookline.tasks.ghl_sync import reconcile_all
from hookline.tasks.reconciling import start_sync
from tests.e2e.conftest import celery_worker
from tests.support.fake_ghl import FakeGHL, serve
from tests.support.processes import wait_for
from tests.support.sync import (
    LOCATION,
    clear_limits,
    connect,
    stored_contacts,
    stored_ids,
    sync_row,
)

CONTACTS, PAGE = 2000, 100


def worker_env(url: str, **extra: str) -> dict[str, str]:
    return {"HOOKLINE_GHL_API_URL": url, "HOOKLINE_SYNC_PAGE_LIMIT": str(PAGE), "HOOKLINE_SYNC_PAGES_PER_TASK": "2",
            **extra}


def finished(tenant, resource: str = "contacts") -> bool:
    row = sync_row(tenant, resource)
    return row is not None and row.state != "running"


@pytest.fixture()
def prepared(tenant, redis_client):
    clear_limits(redis_client)
    redis_client.delete("ghl_sync")
    yield tenant
    redis_client.delete("ghl_sync")


def test_a_backfill_runs_as_many_small_tasks_and_waits_out_the_rate_limit(prepared, tmp_path):
    tenant = prepared
    fake = FakeGHL(limit=1000)
    fake.add_contacts(LOCATION, CONTACTS)
    connect(tenant, fake)
    # 2 requests per 2 s and no waiting in the worker: the backfill must retry with the countdown
    limits = {"HOOKLINE_GHL_BURST_LIMIT": "2", "HOOKLINE_GHL_BURST_WINDOW_SECONDS": "2",
              "HOOKLINE_API_RATE_SLACK_SECONDS": "0.2", "HOOKLINE_API_MAX_WAIT_SECONDS": "0"}
    with serve(fake.app()) as url, celery_worker(["ghl_sync"], tmp_path / "worker.log",
                                                 env=worker_env(url, **limits)) as worker:
        assert start_sync(tenant.id, "ghl", "contacts", full=True) == "started"
        wait_for(lambda: finished(tenant), timeout=180, what="the backfill")

    row = sync_row(tenant)
    assert (row.state, row.last_error, row.total) == ("idle", None, CONTACTS)
    assert stored_contacts(tenant) == (CONTACTS, set(fake.contacts[LOCATION]))
    assert row.pages == CONTACTS // PAGE + 1  # 20 full pages, then the short one that says it is done
    log = "\n".join(worker.lines())
    succeeded = re.findall(r"Task hookline\.tasks\.ghl_sync\.reconcile\[[^\]]+\] succeeded", log)
    assert len(succeeded) >= row.pages // 2  # at most two pages per task
    retries = [float(s) for s in re.findall(r"ghl_sync\.reconcile\[[^\]]+\] retry: Retry in ([\d.]+)s", log)]
    assert retries and all(0 < seconds <= 2.2 for seconds in retries)  # the limiter's countdown, not a guess
    assert fake.refused_429[LOCATION] == 0


def test_a_worker_killed_mid_backfill_is_resumed_from_the_committed_cursor(prepared, tmp_path):
    tenant = prepared
    fake = FakeGHL(limit=1000, search_delay=0.4)  # slow pages: time to kill the worker mid-way
    fake.add_contacts(LOCATION, CONTACTS)
    connect(tenant, fake)
    with serve(fake.app()) as url:
        with celery_worker(["ghl_sync"], tmp_path / "first.log", env=worker_env(url)) as first:
            assert start_sync(tenant.id, "ghl", "contacts", full=True) == "started"
            wait_for(lambda: sync_row(tenant).pages >= 5, timeout=120, what="five committed pages")
            os.killpg(first.process.pid, signal.SIGKILL)
            first.process.wait()
        killed = sync_row(tenant)
        assert killed.state == "running" and killed.pages < CONTACTS // PAGE
        assert stored_contacts(tenant)[0] >= killed.pages * PAGE - killed.pages  # its pages stayed committed

        with celery_worker(["ghl_sync"], tmp_path / "second.log", env=worker_env(url)):
            searches_before = len(fake.searches)
            # what beat does every 15 minutes, with "stalled" meaning "no page for 0 s"
            reconcile_all.apply_async(kwargs={"stale_after": 0})
            wait_for(lambda: finished(tenant), timeout=180, what="the resumed backfill")

    row = sync_row(tenant)
    assert (row.state, row.last_error) == ("idle", None)
    assert stored_contacts(tenant) == (CONTACTS, set(fake.contacts[LOCATION]))  # every contact, once
    resumed = fake.searches[searches_before:]
    # the second worker went on from the committed cursor, not from the beginning
    assert resumed[0].get("filters") == [{"field": "dateUpdated", "operator": "range",
                                          "value": {"gte": killed.cursor["since"]}}]
    assert all(search.get("filters") for search in resumed)
    assert row.pages >= killed.pages  # the run's counts carried on


def fill(fake: FakeGHL, resource: str) -> tuple[str, set[str]]:
    """A location with enough of `resource` for 15+ pages; (the table, the ids it must end with)."""
    if resource == "opportunities":
        fake.add_opportunities(LOCATION, 1500)
        return "deals", set(fake.opportunities[LOCATION])
    now = datetime.now(UTC)
    for calendar in ("cal-a", "cal-b"):
        fake.add_calendar(LOCATION, calendar, calendar.upper())
        for day in range(-170, 360, 7):
            fake.add_appointment(LOCATION, calendar, now + timedelta(days=day))
    return "appointments", set(fake.events[LOCATION])


@pytest.mark.parametrize("resource", ["opportunities", "appointments"])
def test_a_worker_killed_mid_walk_is_resumed_from_the_committed_cursor(prepared, tmp_path, resource):
    tenant = prepared
    fake = FakeGHL(limit=1000, search_delay=0.4)
    table, expected = fill(fake, resource)
    connect(tenant, fake)
    with serve(fake.app()) as url:
        with celery_worker(["ghl_sync"], tmp_path / "first.log", env=worker_env(url)) as first:
            assert start_sync(tenant.id, "ghl", resource, full=True) == "started"
            wait_for(lambda: sync_row(tenant, resource).pages >= 5, timeout=120, what="five committed pages")
            os.killpg(first.process.pid, signal.SIGKILL)
            first.process.wait()
        killed = sync_row(tenant, resource)
        assert killed.state == "running" and killed.cursor
        reads_before = len(fake.reads)

        with celery_worker(["ghl_sync"], tmp_path / "second.log", env=worker_env(url)):
            reconcile_all.apply_async(kwargs={"stale_after": 0})
            wait_for(lambda: finished(tenant, resource), timeout=240, what="the resumed walk")

    row = sync_row(tenant, resource)
    assert (row.state, row.last_error, row.cursor) == ("idle", None, {})
    assert stored_ids(tenant, table) == expected  # every record, once
    # reconcile_all also starts the other resources' walks: only this one's reads count
    ours = ("/opportunities/pipelines", "/opportunities/search") if resource == "opportunities" else \
        ("/calendars/", "/calendars/events")
    resumed = [(path, query) for path, query in fake.reads[reads_before:] if path in ours]
    # the second worker went on from the committed cursor: the walk's opening read was not made again
    assert resumed and all(path != ours[0] for path, _ in resumed)
    assert all("startAfterId" in query for path, query in resumed if path == "/opportunities/search")
    assert row.pages >= killed.pages
