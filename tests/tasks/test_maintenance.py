"""The relay's choice of rows, on real PostgreSQL and Redis (the task function called directly)."""

import json

import pytest

from hookline.db import tenant_session
from hookline.models import EventStatus
from hookline.services import inbox
from hookline.tasks.maintenance import relay_unpublished
from tests.support.webhooks import payload


@pytest.fixture()
def queue(redis_client):
    redis_client.delete("ghl_sync")
    return lambda: [json.loads(raw)["headers"] for raw in redis_client.lrange("ghl_sync", 0, -1)]


def store(tenant_id, key, event_type="ContactCreate", status=EventStatus.PENDING):
    with tenant_session(tenant_id) as session:
        return inbox.store(session, tenant_id, provider="ghl", event_type=event_type, dedupe_key=key,
                           payload=payload("ghl/ContactCreate.json"), status=status).event_id


def test_the_relay_leaves_fresh_rows_to_the_ingress(tenant, queue):
    store(tenant.id, "fresh")

    assert relay_unpublished(older_than_seconds=60) == 0
    assert queue() == []


def test_the_relay_publishes_each_tenants_unpublished_rows_once(tenant, other_tenant, queue):
    first = store(tenant.id, "a")
    second = store(other_tenant.id, "b")

    assert relay_unpublished(older_than_seconds=0) == 2
    assert relay_unpublished(older_than_seconds=0) == 0

    assert sorted((h["tenant_id"], h["kwargsrepr"]) for h in queue()) == sorted([
        (tenant.id, repr({"tenant_id": tenant.id, "event_id": first})),
        (other_tenant.id, repr({"tenant_id": other_tenant.id, "event_id": second})),
    ])


def test_the_relay_skips_ignored_and_processed_rows(tenant, queue):
    store(tenant.id, "ignored", event_type="CampaignStatusUpdate", status=EventStatus.IGNORED)
    done = store(tenant.id, "done")
    with tenant_session(tenant.id) as session:
        inbox.mark_processed(session, inbox.claim(session, tenant.id, done))

    assert relay_unpublished(older_than_seconds=0) == 0
    assert queue() == []


def test_a_backlog_over_the_fairness_burst_is_relayed_to_the_bulk_lane(tenant, other_tenant, queue, redis_client):
    from hookline.config import get_settings

    redis_client.delete("ghl_sync.bulk", f"hookline:fair:hot:{other_tenant.id}")
    backlog = get_settings().fairness_burst + 1
    for index in range(backlog):
        store(tenant.id, f"flood-{index}")
    store(other_tenant.id, "quiet")

    assert relay_unpublished(older_than_seconds=0, batch=backlog) == backlog + 1

    bulk = [json.loads(raw)["headers"]["tenant_id"] for raw in redis_client.lrange("ghl_sync.bulk", 0, -1)]
    assert bulk == [tenant.id] * backlog
    assert [headers["tenant_id"] for headers in queue()] == [other_tenant.id]
