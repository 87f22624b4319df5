"""The reports queue's tasks, called directly on real PostgreSQL and Redis, with injected clocks."""

import json

import pytest
from celery.schedules import crontab

from hookline.tasks.maintenance import fan_out
from hookline.tasks.reports import nightly_rollup, rollup_day
from hookline.workers.app import app
from tests.support.reports import add_contacts, figures, zoned_tenant


@pytest.fixture()
def reports_queue(redis_client):
    redis_client.delete("reports")
    yield lambda: sorted((json.loads(raw)["headers"]["tenant_id"], json.loads(raw)["headers"]["kwargsrepr"])
                         for raw in redis_client.lrange("reports", 0, -1))
    redis_client.delete("reports")


def test_rollup_day_rolls_up_the_tenants_day_and_is_routed_to_reports(tenant):
    add_contacts(tenant.id, ("facebook", "2026-11-20T09:00Z"))

    assert rollup_day(tenant_id=tenant.id, day="2026-11-20") == {"leads": 1, "webhooks": 0, "appointments": 0,
                                                                   "opportunities_won": 0, "dunning_recovered": 0}
    assert rollup_day(tenant_id=tenant.id, day="2026-11-20") == {"leads": 1, "webhooks": 0, "appointments": 0,
                                                                   "opportunities_won": 0, "dunning_recovered": 0}
    assert figures(tenant.id) == {("2026-11-20", "leads", "facebook"): 1}
    assert app.amqp.router.route({}, rollup_day.name)["queue"].name == "reports"


def test_the_nightly_fan_out_sends_each_tenant_its_night_once_on_its_own_clock(clean_tables, reports_queue):
    berlin = zoned_tenant("Nordlicht Berlin", "Europe/Berlin")
    new_york = zoned_tenant("Hudson Solar", "America/New_York")
    entry = app.conf.beat_schedule["nightly-reports"]

    def tick(now):
        return fan_out(**entry["kwargs"], now=now)

    # 03:37 UTC: 04:37 on the 21st in Berlin (CET), 22:37 on the 20th in New York, both past 04:00.
    assert tick("2026-11-21T03:37:00+00:00") == 2
    assert reports_queue() == sorted([(berlin.id, repr({"tenant_id": berlin.id, "local_date": "2026-11-21"})),
                                      (new_york.id, repr({"tenant_id": new_york.id, "local_date": "2026-11-20"}))])
    assert tick("2026-11-21T08:00:00+00:00") == 0  # each night is sent once; 03:00 in New York: not yet

    # 09:00 UTC is 04:00 on the 21st in New York (EST).
    assert tick("2026-11-21T09:00:00+00:00") == 1
    assert (new_york.id, repr({"tenant_id": new_york.id, "local_date": "2026-11-21"})) in reports_queue()
    assert len(reports_queue()) == 3


def test_a_nightly_rollup_rolls_up_the_day_before_its_local_date(tenant):
    add_contacts(tenant.id, ("facebook", "2026-11-20T09:00Z"))

    nightly_rollup(tenant_id=tenant.id, local_date="2026-11-21")

    assert figures(tenant.id) == {("2026-11-20", "leads", "facebook"): 1}


def test_the_nightly_entry_is_the_per_tenant_fan_out_of_the_reports_queue():
    entry = app.conf.beat_schedule["nightly-reports"]

    assert entry["task"] == fan_out.name
    assert entry["kwargs"] == {"task": nightly_rollup.name, "at_local_hour": 4}
    assert entry["schedule"] == crontab(minute=0)  # hourly: each tenant's 04:00 falls in some UTC hour
    assert app.amqp.router.route({}, nightly_rollup.name)["queue"].name == "reports"
