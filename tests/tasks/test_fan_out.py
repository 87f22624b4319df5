"""The per-tenant fan-out: one task per tenant, on the tenant's own clock, once per local date."""

import ast
import json

import pytest
from sqlalchemy import text

from hookline.db import global_session
from hookline.services.tenants import add_tenant
from hookline.tasks.maintenance import fan_out

TASK = "hookline.tasks.dunning.run_daily"


@pytest.fixture()
def dunning_queue(redis_client):
    redis_client.delete("dunning")
    yield lambda: sorted((message["headers"]["tenant_id"], ast.literal_eval(message["headers"]["kwargsrepr"])["local_date"])
                         for message in map(json.loads, redis_client.lrange("dunning", 0, -1)))
    redis_client.delete("dunning")


@pytest.fixture()
def auckland_and_los_angeles(clean_tables):
    with global_session() as session:
        return (add_tenant(session, "Kiwi Solar", timezone="Pacific/Auckland").id,  # UTC+13 in November
                add_tenant(session, "Sunset Roofing", timezone="America/Los_Angeles").id)  # UTC-8


def test_each_tenant_gets_its_task_once_its_own_clock_passes_the_hour(auckland_and_los_angeles, dunning_queue):
    auckland, los_angeles = auckland_and_los_angeles

    # 14:00 UTC: 03:00 on the 22nd in Auckland (too early), 06:00 on the 21st in Los Angeles.
    assert fan_out(TASK, at_local_hour=6, now="2026-11-21T14:00:00+00:00") == 1
    # 18:00 UTC: 07:00 on the 22nd in Auckland; Los Angeles has had its run for the 21st.
    assert fan_out(TASK, at_local_hour=6, now="2026-11-21T18:00:00+00:00") == 1
    assert fan_out(TASK, at_local_hour=6, now="2026-11-21T19:00:00+00:00") == 0

    assert dunning_queue() == sorted([(los_angeles, "2026-11-21"), (auckland, "2026-11-22")])


def test_a_tenant_with_a_broken_time_zone_does_not_block_the_others(auckland_and_los_angeles, dunning_queue):
    auckland, los_angeles = auckland_and_los_angeles
    with global_session() as session:
        session.execute(text("UPDATE tenants SET timezone = 'Mars/Olympus_Mons' WHERE id = :id"), {"id": auckland})

    assert fan_out(TASK, at_local_hour=0, now="2026-11-21T18:00:00Z") == 1

    assert dunning_queue() == [(los_angeles, "2026-11-21")]
