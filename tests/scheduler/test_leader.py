"""Beat's leader lock (real Redis) and its record of last runs (real PostgreSQL), in process."""

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from celery import Celery
from celery.schedules import crontab

from hookline.db import global_session
from hookline.models import BeatRun
from hookline.scheduler.beat import LeaderLock, LeaderScheduler, current_leader
from hookline.services import scheduling
from tests.conftest import REDIS_URL
from tests.support.processes import wait_for

PROBE_QUEUE = "beat_probe"


@pytest.fixture()
def lock_key(redis_client):
    key = f"test:beat:leader:{uuid.uuid4().hex[:8]}"
    yield key
    redis_client.delete(key)


def test_one_lock_holder_at_a_time_and_the_other_takes_over_when_it_stops_renewing(redis_client, lock_key):
    first = LeaderLock(redis_client, "host-a:1", ttl_seconds=1, key=lock_key)
    second = LeaderLock(redis_client, "host-b:2", ttl_seconds=1, key=lock_key)

    assert (first.hold(), second.hold(), first.hold()) == (True, False, True)
    assert redis_client.get(lock_key) == b"host-a:1"

    wait_for(second.hold, timeout=3, what="the standby to take the expired lock")  # `first` stopped renewing
    assert first.hold() is False
    first.release()  # not its lock any more: leaves it alone
    assert redis_client.get(lock_key) == b"host-b:2"
    second.release()
    assert first.hold() is True


def test_current_leader_reads_the_default_key(redis_client):
    redis_client.delete("hookline:beat:leader")
    assert current_leader(redis_client) is None
    lock = LeaderLock(redis_client, "host-c:3", ttl_seconds=5)
    lock.hold()
    assert current_leader(redis_client) == "host-c:3"
    lock.release()


def test_a_beat_run_is_claimed_once_from_what_both_beats_saw(clean_tables):
    seen = datetime(2026, 11, 21, 5, tzinfo=timezone.utc)
    now = seen + timedelta(hours=1)
    with global_session() as session:
        assert scheduling.claim_beat_run(session, "e", seen=None, now=seen, by="a") is True

    with global_session() as session:
        first = scheduling.claim_beat_run(session, "e", seen=seen, now=now, by="a")
    with global_session() as session:
        second = scheduling.claim_beat_run(session, "e", seen=seen, now=now + timedelta(seconds=1), by="b")
        assert scheduling.last_runs(session) == {"e": now}

    assert (first, second) == (True, False)


def probe_app(schedule) -> Celery:
    app = Celery("probe", broker=REDIS_URL)
    app.conf.update(beat_schedule={"hourly-probe": {"task": "probe.hourly", "schedule": schedule,
                                                     "options": {"queue": PROBE_QUEUE}}},
                    timezone="UTC", task_create_missing_queues=True)
    return app


def sent(redis_client) -> list[str]:
    return [json.loads(raw)["headers"]["task"] for raw in redis_client.lrange(PROBE_QUEUE, 0, -1)]


def tick(scheduler, times=5):
    for _ in range(times):
        scheduler.tick()


def test_a_tick_missed_for_three_days_is_caught_up_once(clean_tables, redis_client, lock_key):
    redis_client.delete(PROBE_QUEUE)
    three_days_ago = datetime.now(timezone.utc) - timedelta(days=3)
    with global_session() as session:
        session.add(BeatRun(name="hourly-probe", last_run_at=three_days_ago, sent_by="an-old-beat"))
    scheduler = LeaderScheduler(app=probe_app(crontab(minute=0)),
                                lock=LeaderLock(redis_client, "host-a:1", ttl_seconds=30, key=lock_key))

    tick(scheduler)

    assert sent(redis_client) == ["probe.hourly"]  # 72 missed hours, one run
    with global_session() as session:
        row = session.get(BeatRun, "hourly-probe")
    assert row.sent_by == "host-a:1"
    assert row.last_run_at > datetime.now(timezone.utc) - timedelta(minutes=1)


def test_a_new_leader_does_not_repeat_what_the_old_one_sent(clean_tables, redis_client, lock_key):
    redis_client.delete(PROBE_QUEUE)
    with global_session() as session:
        session.add(BeatRun(name="hourly-probe", last_run_at=datetime.now(timezone.utc) - timedelta(days=1),
                            sent_by="an-old-beat"))
    old = LeaderScheduler(app=probe_app(crontab(minute=0)),
                          lock=LeaderLock(redis_client, "host-a:1", ttl_seconds=30, key=lock_key))
    tick(old)
    old.close()  # a clean stop releases the lock

    new = LeaderScheduler(app=probe_app(crontab(minute=0)),
                          lock=LeaderLock(redis_client, "host-b:2", ttl_seconds=30, key=lock_key))
    tick(new)

    assert sent(redis_client) == ["probe.hourly"]
    assert new.leading is True


def test_a_standby_sends_nothing(clean_tables, redis_client, lock_key):
    redis_client.delete(PROBE_QUEUE)
    with global_session() as session:
        session.add(BeatRun(name="hourly-probe", last_run_at=datetime.now(timezone.utc) - timedelta(days=1),
                            sent_by="an-old-beat"))
    LeaderLock(redis_client, "someone-else:9", ttl_seconds=30, key=lock_key).hold()
    standby = LeaderScheduler(app=probe_app(crontab(minute=0)),
                              lock=LeaderLock(redis_client, "host-a:1", ttl_seconds=30, key=lock_key))

    tick(standby)

    assert (sent(redis_client), standby.leading) == ([], False)
