"""Observability with real processes: task_runs rows, the metrics exporter, `hookline status`, request ids in logs."""

from __future__ import annotations

import json
import os
import uuid

import httpx
import pytest
from sqlalchemy import select

from hookline.db import tenant_session
from hookline.models import TaskRun
from hookline.scheduler.beat import LEADER_KEY
from hookline.workers.app import app
from tests.support import probe_tasks
from tests.support.cli import hookline
from tests.support.ingress import BIN, ingress
from tests.support.processes import free_port, running, wait_for
from tests.support.webhooks import encode, ghl_headers, payload

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUEUES = "ghl_sync,maintenance"


@pytest.fixture(scope="module")
def metrics_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("prometheus")


@pytest.fixture(scope="module")
def probe_worker(database, redis_client, metrics_dir, tmp_path_factory):
    """A real worker with the probe tasks, counting into `metrics_dir` (prometheus-client multiprocess)."""
    redis_client.delete(*QUEUES.split(","))
    name = f"runs-{uuid.uuid4().hex[:8]}@localhost"
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    command = [str(BIN / "celery"), "-A", "hookline.workers.app", "worker", "-n", name, "-Q", QUEUES,
               "--include", "tests.support.probe_tasks", "--concurrency", "2", "--without-mingle",
               "--without-gossip", "--loglevel", "INFO"]
    env = {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "PYTHONPATH": ROOT}
    with running(command, log=log, env=env) as process:
        wait_for(lambda: app.control.ping(destination=[name], timeout=0.5) or process.poll() is not None,
                 what=f"worker {name}")
        assert process.poll() is None, log.read_text()
        yield log


def runs(tenant_id, task_id=None, task=None):
    with tenant_session(tenant_id) as session:
        statement = select(TaskRun).where(TaskRun.tenant_id == tenant_id).order_by(TaskRun.id)
        if task is not None:
            statement = statement.where(TaskRun.task == task)
        return session.scalars(statement).all()


def finished(tenant_id, task, count=1):
    found = [run for run in runs(tenant_id, task=task) if run.finished_at is not None]
    return found if len(found) >= count else None


def send(task, tenant_id, **kwargs):
    return task.apply_async(kwargs={"tenant_id": tenant_id, **kwargs}, queue="maintenance")


def test_a_status_screen_with_no_worker_says_none_answered(tenant, redis_client):
    redis_client.delete("reports", LEADER_KEY)

    result = hookline("status", "--timeout", "0.5")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "workers: none answered the ping within 0.5 s" in lines
    assert "beat leader: none (no beat holds the lock)" in lines
    assert "inbox backlog: 0 pending" in lines
    assert "dead letters: 0" in lines
    assert "failed task runs in the last hour: 0" in lines
    assert [line.split() for line in lines if line.startswith("reports")] == [["reports", "0", "-"]]


def test_a_successful_run_is_one_row_with_its_event_and_runtime(probe_worker, tenant):
    sent = send(probe_tasks.succeed, tenant.id, event_id=41)

    [run] = wait_for(lambda: finished(tenant.id, "tests.probe.succeed"), what="the run recorded")

    assert (run.task_id, run.queue, run.event_id, run.state, run.attempt, run.error) == (
        sent.id, "maintenance", 41, "succeeded", 1, None)
    assert run.finished_at >= run.started_at and 0 <= run.runtime_seconds < 5


def test_a_failed_run_keeps_its_error(probe_worker, tenant):
    send(probe_tasks.fail, tenant.id)

    [run] = wait_for(lambda: finished(tenant.id, "tests.probe.fail"), what="the failed run recorded")

    assert run.state == "failed"
    assert run.error == "RuntimeError: probe failure for the history"


def test_a_retry_is_two_attempts_of_one_task_id(probe_worker, tenant):
    sent = send(probe_tasks.retry_once, tenant.id)

    first, second = wait_for(lambda: finished(tenant.id, "tests.probe.retry_once", 2), what="both attempts")

    assert (first.task_id, first.attempt, first.state) == (sent.id, 1, "retried")
    assert first.error.startswith("Retry")
    assert (second.task_id, second.attempt, second.state) == (sent.id, 2, "succeeded")


def test_runs_are_visible_only_to_their_tenant(probe_worker, tenant, other_tenant):
    send(probe_tasks.succeed, other_tenant.id)
    wait_for(lambda: finished(other_tenant.id, "tests.probe.succeed"), what="the other tenant's run")

    with tenant_session(tenant.id) as session:  # row-level security, with no WHERE on purpose
        seen = set(session.scalars(select(TaskRun.tenant_id)))

    assert seen <= {tenant.id}


def scrape(url):
    try:
        return httpx.get(url, timeout=10).text.splitlines()
    except httpx.TransportError:
        return None


def value(lines, series):
    """The sample of `series` (name{labels}) in scraped `lines`; 0 when it is not there yet."""
    found = [line.rsplit(" ", 1)[1] for line in lines if line.rsplit(" ", 1)[0] == series]
    return float(found[0]) if found else 0.0


@pytest.fixture()
def exporter(probe_worker, metrics_dir, tmp_path):
    port = free_port()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "HOOKLINE_METRICS_PORT": str(port)}
    with running([str(BIN / "hookline"), "metrics-exporter"], log=tmp_path / "exporter.log", env=env) as process:
        url = f"http://127.0.0.1:{port}/metrics"
        wait_for(lambda: scrape(url) or process.poll() is not None, what="the exporter")
        assert process.poll() is None, (tmp_path / "exporter.log").read_text()
        yield url


def test_the_exporter_serves_the_workers_counters_and_the_queues(exporter, tenant, redis_client):
    succeeded = f'queue="maintenance",task="tests.probe.succeed",tenant="{tenant.id}"'
    failed = f'queue="maintenance",task="tests.probe.fail",tenant="{tenant.id}"'
    runtime = 'hookline_worker_task_runtime_seconds_count{queue="maintenance",task="tests.probe.succeed"}'
    before = scrape(exporter)

    send(probe_tasks.succeed, tenant.id)
    send(probe_tasks.fail, tenant.id)
    wait_for(lambda: finished(tenant.id, "tests.probe.fail"), what="the failed run")
    wait_for(lambda: finished(tenant.id, "tests.probe.succeed"), what="the successful run")
    redis_client.delete("reports", "reonic_sync.bulk")
    for _ in range(3):  # no worker reads `reports` here: they wait
        probe_tasks.succeed.apply_async(kwargs={"tenant_id": tenant.id}, queue="reports")
    for _ in range(2):  # nor a bulk lane of a queue it does not consume
        probe_tasks.succeed.apply_async(kwargs={"tenant_id": tenant.id}, queue="reonic_sync.bulk")
    after = scrape(exporter)
    redis_client.delete("reports", "reonic_sync.bulk")

    def grew(series):
        return value(after, series) - value(before, series)

    assert grew(f"hookline_worker_tasks_started_total{{{succeeded}}}") == 1
    assert grew(f"hookline_worker_tasks_succeeded_total{{{succeeded}}}") == 1
    assert grew(f"hookline_worker_tasks_failed_total{{{failed}}}") == 1
    assert grew(f"hookline_worker_tasks_succeeded_total{{{failed}}}") == 0
    assert grew(runtime) == 1
    assert value(after, 'hookline_queue_depth{queue="reports"}') == 3
    assert value(after, 'hookline_queue_depth{queue="ghl_sync"}') == 0
    assert value(after, 'hookline_queue_depth{queue="reonic_sync.bulk"}') == 2
    assert 0 < value(after, 'hookline_queue_oldest_message_age_seconds{queue="reports"}') < 60
    assert value(after, f'hookline_task_runs_failed_last_hour{{tenant="{tenant.id}"}}') == 1
    assert f'hookline_inbox_pending{{tenant="{tenant.id}"}} 0.0' in after
    assert value(after, 'hookline_monitor_source_up{source="broker"}') == 1
    assert value(after, 'hookline_monitor_source_up{source="database"}') == 1
    assert value(after, f'hookline_dead_letters{{tenant="{tenant.id}"}}') == 1  # the failed probe, dead-lettered


def test_status_after_tasks_ran_names_the_worker_and_the_failures(probe_worker, tenant, redis_client):
    send(probe_tasks.fail, tenant.id)
    wait_for(lambda: finished(tenant.id, "tests.probe.fail"), what="the failed run")
    redis_client.delete("reports")
    probe_tasks.succeed.apply_async(kwargs={"tenant_id": tenant.id}, queue="reports")

    result = hookline("status", "--timeout", "2")
    redis_client.delete("reports")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "workers: 1 answered the ping within 2 s" in lines
    assert any(line.strip().startswith("runs-") for line in lines)
    assert "failed task runs in the last hour: 1" in lines
    assert any(line.split() == ["sunny-solar", "1"] for line in lines)
    [reports] = [line.split() for line in lines if line.startswith("reports")]
    assert reports[:2] == ["reports", "1"] and reports[2].endswith("s")


def json_lines(path):
    found = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


def test_one_request_id_follows_a_webhook_from_the_ingress_into_the_worker(probe_worker, tenant, tmp_path):
    raw = encode(payload("ghl/ContactCreate.json"))
    with ingress(tmp_path / "ingress.log") as url:
        answer = httpx.post(f"{url}/webhooks/ghl", content=raw, timeout=10,
                            headers={**ghl_headers(raw), "X-Request-Id": "req-follow-me-1"})
        event_id = answer.json()["event_id"]
        [run] = wait_for(lambda: finished(tenant.id, "hookline.tasks.ghl_sync.apply_event"), what="the task")

    assert answer.status_code == 202 and answer.headers["x-request-id"] == "req-follow-me-1"
    [accepted] = [line for line in json_lines(tmp_path / "ingress.log") if line.get("request_id") == "req-follow-me-1"]
    assert (accepted["event"], accepted["tenant_id"], accepted["event_id"]) == ("webhook.accepted", tenant.id, event_id)
    worker_lines = [line for line in json_lines(probe_worker) if line.get("request_id") == "req-follow-me-1"]
    [upserted] = [line for line in worker_lines if line["event"] == "ghl.event.applied"]
    assert (upserted["tenant_id"], upserted["event_id"], upserted["task_id"]) == (tenant.id, event_id, run.task_id)
    assert run.request_id == "req-follow-me-1" and run.event_id == event_id


def test_a_webhook_without_a_usable_request_id_gets_a_new_one(tenant, tmp_path):
    raw = encode(payload("ghl/ContactCreate.json", webhookId="no-request-id"))
    with ingress(tmp_path / "ingress.log") as url:
        answer = httpx.post(f"{url}/webhooks/ghl", content=raw, timeout=10,
                            headers={**ghl_headers(raw), "X-Request-Id": "not an id: {\"spaces\": true}"})

    made = answer.headers["x-request-id"]
    assert len(made) == 32 and made.isalnum()
    assert [line["event"] for line in json_lines(tmp_path / "ingress.log") if line.get("request_id") == made] == [
        "webhook.accepted"]


def test_a_task_published_by_a_task_carries_its_request_id_on(probe_worker, tenant):
    probe_tasks.publish_next.apply_async(kwargs={"tenant_id": tenant.id, "event_id": 77}, queue="maintenance",
                                         headers={"request_id": "req-chain-7"})

    [parent] = wait_for(lambda: finished(tenant.id, "tests.probe.publish_next"), what="the first task")
    [child] = wait_for(lambda: finished(tenant.id, "tests.probe.succeed"), what="the task it published")

    assert (parent.request_id, child.request_id) == ("req-chain-7", "req-chain-7")
    assert child.task_id != parent.task_id and child.event_id == 77
