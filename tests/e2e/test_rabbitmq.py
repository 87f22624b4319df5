"""RabbitMQ as the broker, end to end: the ingress publishes (CelerySender) to quorum queues, a real
worker consumes them and writes PostgreSQL; a countdown retry waits in RabbitMQ, not in the worker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from hookline.db import tenant_session
from hookline.models import TaskRun
from hookline.workers.routing import FAIR_QUEUES, QUEUES, bulk_queue
from tests.conftest import REDIS_URL
from tests.e2e.test_contact_webhook import contacts_of, post, processed
from tests.support import failing_tasks as tasks
from tests.support.ingress import ingress
from tests.support.processes import wait_for
from tests.support.rabbitmq import amqp_url, queues, rabbitmq_vhost
from tests.support.webhooks import payload
from tests.support.workers import celery_at, celery_worker


@pytest.fixture(scope="module")
def vhost() -> Iterator[str]:
    with rabbitmq_vhost() as name:
        yield name


@pytest.fixture(scope="module")
def broker_env(vhost) -> dict[str, str]:
    # Redis stays for what is not the broker's: rate limits, fairness counters, the tasks' own counters.
    return {"HOOKLINE_BROKER_URL": amqp_url(vhost), "HOOKLINE_REDIS_URL": REDIS_URL}


@pytest.fixture(scope="module")
def rabbit_worker(database, broker_env, tmp_path_factory) -> Iterator[tuple[str, object]]:
    log = tmp_path_factory.mktemp("rabbit-worker") / "worker.log"
    with celery_worker(log, queues="webhooks,ghl_sync", app_module="tests.support.failing_tasks", **broker_env) as name:
        yield name, log


@pytest.fixture(scope="module")
def rabbit_ingress(database, broker_env, tmp_path_factory) -> Iterator[str]:
    # A burst of 1: a tenant's second event in a window goes to the bulk lane (transport/lanes.py).
    with ingress(tmp_path_factory.mktemp("rabbit-ingress") / "ingress.log", HOOKLINE_FAIRNESS_BURST="1",
                 **broker_env) as url:
        yield url


def test_every_queue_of_the_map_is_a_quorum_queue(rabbit_worker, vhost):
    declared = queues(vhost)

    expected = {*QUEUES, *map(bulk_queue, FAIR_QUEUES)}
    assert {name: declared[name]["type"] for name in expected} == dict.fromkeys(expected, "quorum")


def test_a_webhook_through_rabbitmq_ends_as_a_contact_row(rabbit_ingress, rabbit_worker, tenant):
    answer = post(rabbit_ingress, payload("ghl/ContactCreate.json"))

    assert answer.status_code == 202
    wait_for(lambda: processed(tenant.id, answer.json()["event_id"]), timeout=60, what="the event processed")
    assert [contact.email for contact in contacts_of(tenant.id)] == ["ana.lindqvist@example.com"]


def queues_run_from(tenant_id: int, task: str) -> list[str]:
    """The queue of each recorded run of `task`, in order (workers/observe.py reads it off the delivery)."""
    with tenant_session(tenant_id) as session:
        return list(session.scalars(select(TaskRun.queue).where(TaskRun.tenant_id == tenant_id, TaskRun.task == task)
                                    .order_by(TaskRun.id)))


def test_a_tenants_flood_goes_through_the_bulk_lanes_quorum_queue(rabbit_ingress, rabbit_worker, tenant):
    events = [post(rabbit_ingress, payload(f"ghl/{name}.json")).json()["event_id"]
              for name in ("ContactCreate", "ContactUpdate", "NoteCreate")]

    wait_for(lambda: all(processed(tenant.id, event_id) for event_id in events), timeout=60, what="all processed")
    # The later events may share one batch message (transport/batches.py): either task counts.
    lanes = [*queues_run_from(tenant.id, "hookline.tasks.ghl_sync.apply_event"),
             *queues_run_from(tenant.id, "hookline.tasks.ghl_sync.apply_events")]
    assert "ghl_sync.bulk" in lanes


def test_a_countdown_retry_waits_in_rabbitmq_and_runs_once_on_its_lane(rabbit_worker, broker_env, vhost, tenant):
    _, log = rabbit_worker
    run = uuid.uuid4().hex

    celery_at(broker_env["HOOKLINE_BROKER_URL"]).send_task(
        tasks.unavailable_once.name, queue="webhooks.bulk", kwargs={"tenant_id": tenant.id, "key": run, "retry_after": 6})

    # The retry waits in a delay level of RabbitMQ's native delayed delivery (6 s: levels 2 and 1).
    wait_for(lambda: any(row["messages"] for name, row in queues(vhost).items() if name.startswith("celery_delayed_")),
             timeout=30, what="the retry in a delayed delivery queue")
    assert tasks.runs(tenant.id, run) == 1
    wait_for(lambda: tasks.runs(tenant.id, run) == 2, timeout=60, what="the retry")
    wait_for(lambda: len(queues_run_from(tenant.id, tasks.unavailable_once.name)) == 2, timeout=10, what="2 runs")
    # The retry came back to the bulk lane (TenantTask.signature_from_request), read without its delay prefix.
    assert queues_run_from(tenant.id, tasks.unavailable_once.name) == ["webhooks.bulk", "webhooks.bulk"]
    text = log.read_text()
    assert "Failed to bind queue" not in text  # every queue of the map is bound for delayed delivery
    assert "Direct exchanges are not supported" not in text  # Celery's warning: the retry would wait in the worker
