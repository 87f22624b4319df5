"""The reports queue's tasks, called directly on real PostgreSQL and Redis, with injected clocks."""

import json

import pytest
from celery.schedules import crontab

from hookline.tasks.reports import nightly_rollups, rollup_day
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


def test_the_nightly_fan_out_enqueues_each_tenant_at_four_on_its_own_clock(clean_tables, reports_queue):
    berlin = zoned_tenant("Nordlicht Berlin", "Europe/Berlin")
    new_york = zoned_tenant("Hudson Solar", "America/New_York")
    zoned_tenant("Thames Solar", "UTC")

    # 03:37 UTC counts as the 03:00 tick: 04:00 in Berlin (CET), 22:00 the day before in New York.
    assert nightly_rollups(now="2026-11-21T03:37:00+00:00") == 1
    assert reports_queue() == [(berlin.id, repr({"tenant_id": berlin.id, "day": "2026-11-20"}))]

    # 09:00 UTC is 04:00 in New York (EST): its yesterday is the 20th too.
    assert nightly_rollups(now="2026-11-21T09:00:00+00:00") == 1
    assert (new_york.id, repr({"tenant_id": new_york.id, "day": "2026-11-20"})) in reports_queue()

    assert nightly_rollups(now="2026-11-21T12:00:00+00:00") == 0  # nobody's 04:00
    assert len(reports_queue()) == 2


def test_the_nightly_fan_out_refuses_a_clock_without_a_time_zone(clean_tables):
    with pytest.raises(ValueError, match="time zone"):
        nightly_rollups(now="2026-11-21T03:00:00")


def test_the_nightly_entry_is_in_the_schedule():
    entry = app.conf.beat_schedule["nightly-reports"]

    assert entry["task"] == nightly_rollups.name
    assert entry["schedule"] == crontab(minute=0)  # hourly: each tenant's 04:00 falls in some UTC hour
    assert app.amqp.router.route({}, nightly_rollups.name)["queue"].name == "reports"
