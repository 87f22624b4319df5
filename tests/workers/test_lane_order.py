"""A worker asks for its main lanes before its bulk lanes, and for the bulk lanes once in BULK_EVERY;
it takes a message only when a process is free to run it; `--lanes` gives it one kind alone."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from hookline.db import tenant_session
from hookline.models import TaskRun
from hookline.workers.app import BULK_NICE
from hookline.workers.lane_order import BULK_EVERY, MainLanesFirst
from hookline.workers.routing import is_bulk_queue, select_lanes
from tests.conftest import REDIS_URL
from tests.support import probe_tasks
from tests.support.processes import wait_for
from tests.support.workers import celery_at, celery_worker

QUEUES = ["webhooks", "ghl_sync", "webhooks.bulk", "ghl_sync.bulk", "sync@host.dq2"]


def taken(cycle: MainLanesFirst, waiting: set[str]) -> str:
    """The queue BRPOP pops from when `waiting` have messages: the first of the cycle's order."""
    queue = next(name for name in cycle.consume(len(cycle.items)) if name in waiting)
    cycle.rotate(queue)
    return queue


def test_main_lanes_come_first_round_robin_among_themselves():
    cycle = MainLanesFirst()
    cycle.update(QUEUES)

    assert cycle.consume(5)[:3] == ["webhooks", "ghl_sync", "sync@host.dq2"]
    assert [taken(cycle, {"webhooks", "ghl_sync"}) for _ in range(4)] == ["webhooks", "ghl_sync"] * 2


def test_the_bulk_lanes_get_one_message_in_bulk_every_while_both_wait():
    cycle = MainLanesFirst()
    cycle.update(QUEUES)

    order = [taken(cycle, {"ghl_sync", "ghl_sync.bulk", "webhooks.bulk"}) for _ in range(3 * BULK_EVERY)]

    assert order == (["ghl_sync"] * (BULK_EVERY - 1) + ["webhooks.bulk"]
                     + ["ghl_sync"] * (BULK_EVERY - 1) + ["ghl_sync.bulk"]
                     + ["ghl_sync"] * (BULK_EVERY - 1) + ["webhooks.bulk"])


def test_an_idle_main_lane_leaves_the_bulk_lane_every_message():
    cycle = MainLanesFirst()
    cycle.update(QUEUES)

    assert [taken(cycle, {"ghl_sync.bulk"}) for _ in range(6)] == ["ghl_sync.bulk"] * 6


def lanes_run(tenant_id: int) -> list[str]:
    with tenant_session(tenant_id) as session:
        return list(session.scalars(select(TaskRun.queue).where(
            TaskRun.tenant_id == tenant_id, TaskRun.task == probe_tasks.succeed.name,
            TaskRun.finished_at.is_not(None)).order_by(TaskRun.started_at, TaskRun.id)))


def test_a_real_worker_runs_the_main_lane_ahead_of_a_bulk_backlog(database, redis_client, tenant, tmp_path):
    bulk, main = 40, 12
    redis_client.delete("webhooks", "webhooks.bulk")
    # The backlog is queued first, the quiet lane's messages after it, all before the worker starts.
    for index in range(bulk):
        probe_tasks.succeed.apply_async(kwargs={"tenant_id": tenant.id, "event_id": index}, queue="webhooks.bulk")
    for index in range(main):
        probe_tasks.succeed.apply_async(kwargs={"tenant_id": tenant.id, "event_id": 1000 + index}, queue="webhooks")

    # One process: the runs' order is the order the worker took the messages in.
    with celery_worker(tmp_path / "worker.log", queues="webhooks", app_module="tests.support.probe_tasks",
                       concurrency=1):
        wait_for(lambda: len(lanes_run(tenant.id)) == bulk + main, timeout=120, what="every probe ran")

    order = lanes_run(tenant.id)
    last_main = max(index for index, queue in enumerate(order) if queue == "webhooks")
    # Round robin would alternate the lanes and run the last main message 2 × main deep (23rd);
    # main first runs it among the first main + main / (BULK_EVERY - 1) messages.
    assert last_main < main + main // (BULK_EVERY - 1) + 2, order
    assert order[:last_main].count("webhooks.bulk") >= main // (BULK_EVERY - 1) - 1, order  # not starved


def test_a_busy_worker_leaves_the_next_message_in_redis(database, redis_client, tenant, tmp_path):
    redis_client.delete("webhooks", "webhooks.bulk")
    for _ in range(5):
        probe_tasks.pause.apply_async(kwargs={"tenant_id": tenant.id, "seconds": 4}, queue="webhooks")

    with celery_worker(tmp_path / "worker.log", queues="webhooks", app_module="tests.support.probe_tasks",
                       concurrency=1):
        wait_for(lambda: redis_client.llen("webhooks") < 5, timeout=60, what="the first message taken")
        time.sleep(2)  # the first still runs: with prefetch (4 a process) the worker would hold 3 more
        assert redis_client.llen("webhooks") == 4
    redis_client.delete("webhooks")


def processes_of(node: str) -> list[int]:
    """The worker's main process and its pool's (their command lines name the node)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and node.encode() in (entry / "cmdline").read_bytes():
                pids.append(int(entry.name))
        except OSError:  # gone meanwhile
            continue
    assert len(pids) == 3, pids  # the main process and two children (celery_worker's default concurrency)
    return pids


def test_lanes_main_and_lanes_bulk_split_a_queue_between_two_workers(database, redis_client, tenant, tmp_path):
    redis_client.delete("webhooks", "webhooks.bulk")
    for index in range(3):
        probe_tasks.succeed.apply_async(kwargs={"tenant_id": tenant.id, "event_id": index}, queue="webhooks.bulk")
        probe_tasks.succeed.apply_async(kwargs={"tenant_id": tenant.id, "event_id": 10 + index}, queue="webhooks")

    with celery_worker(tmp_path / "main.log", queues="webhooks", app_module="tests.support.probe_tasks",
                       options=("--lanes", "main")) as node:
        assert {os.getpriority(os.PRIO_PROCESS, pid) for pid in processes_of(node)} == {os.nice(0)}
        wait_for(lambda: len(lanes_run(tenant.id)) == 3, timeout=60, what="the main lane's probes")
        time.sleep(1)  # a worker that also served the bulk lane would take those now
        assert redis_client.llen("webhooks.bulk") == 3
    with celery_worker(tmp_path / "bulk.log", queues="webhooks", app_module="tests.support.probe_tasks",
                       options=("--lanes", "bulk")) as node:
        # The worker and its pool's processes yield the CPU to everything else.
        assert {os.getpriority(os.PRIO_PROCESS, pid) for pid in processes_of(node)} == {min(os.nice(0) + BULK_NICE, 19)}
        wait_for(lambda: len(lanes_run(tenant.id)) == 6, timeout=60, what="the bulk lane's probes")
        probe_tasks.succeed.apply_async(kwargs={"tenant_id": tenant.id, "event_id": 20}, queue="webhooks")
        time.sleep(1)
        assert redis_client.llen("webhooks") == 1  # left for a worker of the main lane

    assert lanes_run(tenant.id) == ["webhooks"] * 3 + ["webhooks.bulk"] * 3
    redis_client.delete("webhooks")


def test_lanes_main_without_a_queue_list_leaves_out_every_bulk_lane_and_a_wrong_value_is_refused():
    queues = celery_at(REDIS_URL).amqp.queues  # no -Q: every queue of the map
    select_lanes(queues, "main")

    assert "ghl_sync" in queues.consume_from
    assert [name for name in queues.consume_from if is_bulk_queue(name)] == []
    with pytest.raises(ValueError, match="lanes must be one of all, main, bulk"):
        select_lanes(queues, "fast")
