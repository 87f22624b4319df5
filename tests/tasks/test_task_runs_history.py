"""task_runs on real PostgreSQL: the recorder's statements, its failure path, and pruning by age."""

from datetime import datetime, timedelta, timezone

from prometheus_client import REGISTRY
from sqlalchemy import select, update

from hookline.db import tenant_session
from hookline.models import TaskRun
from hookline.tasks.maintenance import prune_task_runs
from hookline.workers.taskruns import Recorder


def record(recorder, tenant_id, task_id, *, days_old=0.0):
    run_id = recorder.start(tenant_id, task="t.example", queue="ghl_sync", task_id=task_id, event_id=None,
                            attempt=1, request_id=None)
    recorder.finish(tenant_id, run_id, state="succeeded", runtime=0.01, error=None, task_id=task_id)
    if days_old:
        with tenant_session(tenant_id) as session:
            session.execute(update(TaskRun).where(TaskRun.tenant_id == tenant_id, TaskRun.id == run_id)
                            .values(started_at=datetime.now(timezone.utc) - timedelta(days=days_old)))
    return run_id


def write_failures():
    import hookline.workers.metrics  # noqa: F401 - registers the counter

    return REGISTRY.get_sample_value("hookline_worker_task_run_write_failures_total") or 0.0


def task_ids(tenant_id):
    with tenant_session(tenant_id) as session:
        return sorted(session.scalars(select(TaskRun.task_id).where(TaskRun.tenant_id == tenant_id)))


def test_start_and_finish_write_one_row(tenant):
    recorder = Recorder()

    run_id = record(recorder, tenant.id, "one")

    with tenant_session(tenant.id) as session:
        run = session.get(TaskRun, run_id)
    assert (run.tenant_id, run.task, run.state, run.runtime_seconds) == (tenant.id, "t.example", "succeeded", 0.01)


def test_a_write_that_fails_is_counted_and_returns_none_instead_of_raising(tenant):
    recorder = Recorder()
    before = write_failures()

    run_id = recorder.start(tenant.id + 1000, task="t.example", queue=None, task_id="orphan", event_id=None,
                            attempt=1, request_id=None)  # no such tenant: the foreign key refuses it

    assert run_id is None
    assert write_failures() == before + 1
    # It rests after a failure rather than wait on a broken database for every task.
    assert recorder.start(tenant.id, task="t.example", queue=None, task_id="resting", event_id=None, attempt=1,
                          request_id=None) is None
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
