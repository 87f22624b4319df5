"""The limits that keep at-least-once delivery from turning into twice-delivered work."""

from datetime import datetime, timedelta, timezone

import pytest

from hookline.tasks.ghl_sync import upsert_contact
from hookline.workers import limits
from hookline.workers.app import app


def test_the_visibility_timeout_outlasts_every_tasks_hard_limit():
    transport = app.conf.broker_transport_options

    assert transport["visibility_timeout"] == limits.VISIBILITY_TIMEOUT > limits.LONGEST_TIME_LIMIT
    hookline_tasks = {name: task for name, task in app.tasks.items() if name.startswith("hookline.")}
    assert hookline_tasks, "the task modules are registered"
    for name, task in hookline_tasks.items():
        hard = task.time_limit or app.conf.task_time_limit
        soft = task.soft_time_limit or app.conf.task_soft_time_limit
        assert soft < hard <= limits.LONGEST_TIME_LIMIT, name


def test_workers_acknowledge_late_and_recycle_children_that_grow():
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.worker_max_memory_per_child == limits.MAX_MEMORY_PER_CHILD_KIB


@pytest.mark.parametrize(
    "options",
    [
        {"countdown": limits.LONGEST_BROKER_DELAY + 1},
        {"eta": datetime.now(timezone.utc) + timedelta(days=3)},  # e.g. a dunning step: belongs in PostgreSQL
        {"eta": (datetime.now(timezone.utc) + timedelta(hours=5)).isoformat()},
    ],
    ids=["countdown", "eta", "eta-text"],
)
def test_a_delay_longer_than_the_broker_holds_is_refused_before_publishing(redis_client, options):
    redis_client.delete("ghl_sync")

    with pytest.raises(limits.DelayTooLong, match="PostgreSQL"):
        upsert_contact.apply_async(kwargs={"tenant_id": 1, "event_id": 1}, **options)

    assert redis_client.llen("ghl_sync") == 0


def test_a_short_delay_is_published(redis_client):
    redis_client.delete("ghl_sync")

    upsert_contact.apply_async(kwargs={"tenant_id": 1, "event_id": 1}, countdown=60)

    assert redis_client.llen("ghl_sync") == 1
    redis_client.delete("ghl_sync")
