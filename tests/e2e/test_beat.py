"""Two real `celery beat` processes: one sends, the other stands by and takes over from a SIGKILLed leader.

The lock's TTL is 3 s here (HOOKLINE_BEAT_LOCK_TTL_SECONDS), so a takeover is due within
3 s + 1 s of renewal polling; these tests wait real seconds for that, nothing else.
"""

import json
import os
import signal
import socket
import time
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone

import pytest

from hookline.db import global_session
from hookline.models import BeatRun
from hookline.scheduler.beat import LEADER_KEY, current_leader
from tests.support.ingress import BIN
from tests.support.processes import running, wait_for

TTL = 3.0
TAKEOVER_BOUND = 60  # the promise: a standby leads within a minute of the leader's death


@pytest.fixture()
def beats(clean_tables, redis_client, tmp_path):
    """Start `n` beat processes; yields a starter returning {identity: (process, log)}."""
    redis_client.delete(LEADER_KEY, "maintenance")
    with ExitStack() as stack:
        def start(n: int) -> dict:
            started = {}
            for index in range(n):
                log = tmp_path / f"beat-{index}.log"
                # DEBUG: a tick's "beat.sent" (relay-unpublished's among them) is logged at debug only.
                command = [str(BIN / "celery"), "-A", "hookline.workers.app", "beat", "--loglevel", "DEBUG"]
                process = stack.enter_context(running(command, log=log, env={"HOOKLINE_BEAT_LOCK_TTL_SECONDS": str(TTL)}))
                started[f"{socket.gethostname()}:{process.pid}"] = (process, log)
            return started
        yield start
    redis_client.delete(LEADER_KEY, "maintenance")


def sends(log, entry: str) -> int:
    count = 0
    for line in log.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        count += record.get("event") == "beat.sent" and record.get("entry") == entry
    return count


def queued_tasks(redis_client) -> list[str]:
    return [json.loads(raw)["headers"]["task"] for raw in redis_client.lrange("maintenance", 0, -1)]


def test_two_beats_send_each_run_once_and_a_missed_daily_tick_once(beats, redis_client):
    with global_session() as session:  # no beat ran for three days
        session.add(BeatRun(name="dunning-daily", last_run_at=datetime.now(timezone.utc) - timedelta(days=3),
                            sent_by="a-beat-long-gone"))

    started = beats(2)
    leader = wait_for(lambda: current_leader(redis_client), timeout=90, what="a leader")
    (standby,) = set(started) - {leader}
    wait_for(lambda: sends(started[leader][1], "relay-unpublished") >= 3, timeout=60, what="three relay ticks")
    for process, _ in started.values():  # stop both, so the log and the queue are counted at rest
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)

    tasks = queued_tasks(redis_client)
    assert sends(started[standby][1], "relay-unpublished") == 0
    assert sends(started[standby][1], "dunning-daily") == 0
    assert tasks.count("hookline.tasks.maintenance.fan_out") == 1  # three missed days of hourly ticks: one run
    # Every relay message was sent by the leader (SIGTERM may land between a publish and its log line).
    logged = sends(started[leader][1], "relay-unpublished")
    assert logged <= tasks.count("hookline.tasks.maintenance.relay_unpublished") <= logged + 1
    with global_session() as session:
        assert session.get(BeatRun, "relay-unpublished").sent_by == leader


def test_a_killed_leader_is_replaced_by_the_standby_within_the_bound(beats, redis_client):
    started = beats(2)
    leader = wait_for(lambda: current_leader(redis_client), timeout=90, what="a leader")
    (standby,) = set(started) - {leader}
    wait_for(lambda: sends(started[leader][1], "relay-unpublished") >= 1, timeout=60, what="the leader's first send")
    # The standby must be up and polling before the leader dies, or we would time its start-up.
    wait_for(lambda: "beat: Starting..." in started[standby][1].read_text(errors="replace"), timeout=60,
             what="the standby to start")

    process, _ = started[leader]
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    killed_at = time.monotonic()
    wait_for(lambda: current_leader(redis_client) == standby, timeout=TAKEOVER_BOUND, what="the standby to lead")
    took_over = time.monotonic() - killed_at
    wait_for(lambda: sends(started[standby][1], "relay-unpublished") >= 1, timeout=30, what="the new leader's send")

    assert took_over <= TTL + TTL / 3 + 5, f"takeover took {took_over:.1f}s"  # 5 s of slack for a loaded machine
    with global_session() as session:  # "beat.sent" is logged after the commit
        assert session.get(BeatRun, "relay-unpublished").sent_by == standby
