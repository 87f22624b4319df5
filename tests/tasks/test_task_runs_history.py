"""task_runs on real PostgreSQL: the recorder's statements, its failure path, and pruning by age."""

import time
from datetime import datetime, timedelta, timezone

from prometheus_client import REGISTRY
from sqlalchemy import select, update

from hookline.db import tenant_session
from hookline.models import TaskRun
from hookline.tasks.maintenance import prune_task_runs
from hookline.workers.taskruns import Recorder


def start(recorder, tenant_id, task_id):
    return recorder.start(tenant_id, task="t.example", queue="ghl_sync", task_id=task_id, event_id=None,
                          attempt=1, request_id=None)


def runs(tenant_id):
    with tenant_session(tenant_id) as session:
        return session.scalars(select(TaskRun).where(TaskRun.tenant_id == tenant_id).order_by(TaskRun.id)).all()


def record(recorder, tenant_id, task_id, *, days_old=0.0):
    start(recorder, tenant_id, task_id)
    recorder.finish(tenant_id, state="succeeded", runtime=0.01, error=None, task_id=task_id)
    recorder.flush()
    if days_old:
        with tenant_session(tenant_id) as session:
            session.execute(update(TaskRun).where(TaskRun.tenant_id == tenant_id, TaskRun.task_id == task_id)
                            .values(started_at=datetime.now(timezone.utc) - timedelta(days=days_old)))


def write_failures():
    import hookline.workers.metrics  # noqa: F401 - registers the counter

    return REGISTRY.get_sample_value("hookline_worker_task_run_write_failures_total") or 0.0


def task_ids(tenant_id):
    with tenant_session(tenant_id) as session:
        return sorted(session.scalars(select(TaskRun.task_id).where(TaskRun.tenant_id == tenant_id)))


def test_start_and_finish_write_one_row(tenant):
    recorder = Recorder()

    record(recorder, tenant.id, "one")

    [run] = runs(tenant.id)
    assert (run.tenant_id, run.task, run.state, run.runtime_seconds) == (tenant.id, "t.example", "succeeded", 0.01)


def test_a_running_task_is_visible_as_started_before_its_finish(tenant):
    recorder = Recorder()

    assert start(recorder, tenant.id, "running")
    deadline = time.monotonic() + 10
    while not runs(tenant.id) and time.monotonic() < deadline:  # sent, not waited for: committed by itself
        time.sleep(0.02)

    [run] = runs(tenant.id)
    assert (run.task_id, run.state, run.finished_at) == ("running", "started", None)


def test_runs_one_after_another_each_finish_their_own_row(tenant):
    recorder = Recorder()

    for task_id, state in (("a", "succeeded"), ("b", "failed"), ("c", "retried")):
        start(recorder, tenant.id, task_id)
        recorder.finish(tenant.id, state=state, runtime=0.5, error=None if state == "succeeded" else "Boom: x",
                        task_id=task_id)
    recorder.flush()

    assert [(run.task_id, run.state, run.error) for run in runs(tenant.id)] == [
        ("a", "succeeded", None), ("b", "failed", "Boom: x"), ("c", "retried", "Boom: x")]


def test_a_write_that_fails_is_counted_and_rests_instead_of_raising(tenant):
    recorder = Recorder()
    before = write_failures()

    # No such tenant: the foreign key refuses it, which the recorder learns from the answer.
    assert start(recorder, tenant.id + 1000, "orphan")
    recorder.finish(tenant.id + 1000, state="succeeded", runtime=0.01, error=None, task_id="orphan")

    assert write_failures() == before + 1
    # It rests after a failure rather than wait on a broken database for every task.
    assert start(recorder, tenant.id, "resting") is False
    assert task_ids(tenant.id) == []


def test_prune_removes_only_rows_older_than_the_retention_for_every_tenant(tenant, other_tenant):
    recorder = Recorder()
    record(recorder, tenant.id, "old-a", days_old=20)
    record(recorder, tenant.id, "new-a", days_old=13)
    record(recorder, other_tenant.id, "old-b", days_old=15)
    record(recorder, other_tenant.id, "new-b")

    assert prune_task_runs(retention_days=14, batch=1) == 2

    assert task_ids(tenant.id) == ["new-a"]
    assert task_ids(other_tenant.id) == ["new-b"]
    assert prune_task_runs(retention_days=14) == 0


def test_prune_takes_a_tenant_in_batches_until_a_batch_comes_back_short(tenant):
    recorder = Recorder()
    for name in ("old-1", "old-2", "old-3"):
        record(recorder, tenant.id, name, days_old=20)
    record(recorder, tenant.id, "new")

    assert prune_task_runs(retention_days=14, batch=2) == 3

    assert task_ids(tenant.id) == ["new"]
