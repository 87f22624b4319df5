"""Failures on a real worker: retries, dead letters, poison-message quarantine, replay from the CLI."""

from __future__ import annotations

import time
import uuid

import pytest

from hookline.db import tenant_session
from hookline.services import dead_letters
from hookline.transport.publish import publish
from hookline.workers.deliveries import POISON_DELIVERIES
from tests.support import failing_tasks as tasks
from tests.support.cli import hookline
from tests.support.processes import wait_for
from tests.support.workers import celery_worker

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def worker(database, redis_client, tmp_path_factory):
    redis_client.delete("webhooks")
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    with celery_worker(log, queues="webhooks", app_module="tests.support.failing_tasks") as name:
        yield name


def letters(tenant, task=None):
    with tenant_session(tenant.id) as session:
        return [letter for letter in dead_letters.recent(session, tenant.id, limit=100)
                if task is None or letter.task == task]


def letter_of(tenant, task, timeout=30):
    return wait_for(lambda: letters(tenant, task), timeout=timeout, what=f"a dead letter for {task}")[0]


def key():
    return uuid.uuid4().hex[:12]


def test_a_permanent_error_is_not_retried_and_lands_in_dead_letters(worker, tenant):
    run = key()

    tasks.refused_by_provider.delay(tenant_id=tenant.id, key=run, api_token="sk_live_do_not_show")

    letter = letter_of(tenant, "tests.refused_by_provider")
    assert (letter.reason, letter.status, letter.attempts) == ("permanent", "dead", 1)
    assert letter.error == "RejectedError: the provider refused the request: 422 unknown pipeline"
    assert "RejectedError" in letter.traceback
    assert letter.kwargs == {"tenant_id": tenant.id, "key": run, "api_token": "***"}
    time.sleep(2.5)  # the first retry would have come by now
    assert tasks.runs(tenant.id, run) == 1


def test_transient_errors_retry_with_backoff_then_land_in_dead_letters(worker, tenant):
    run = key()

    tasks.always_unavailable.delay(tenant_id=tenant.id, key=run)

    letter = letter_of(tenant, "tests.always_unavailable")
    assert (letter.reason, letter.error) == ("retries_exhausted", "TransientError: the provider answered 503")
    assert tasks.runs(tenant.id, run) == 3  # the first run and max_retries=2


def test_a_transient_error_that_clears_is_retried_and_nothing_is_dead(worker, tenant):
    run = key()

    tasks.unavailable_once.delay(tenant_id=tenant.id, key=run)

    wait_for(lambda: tasks.runs(tenant.id, run) == 2, what="the retry")
    time.sleep(0.5)
    assert letters(tenant) == []


def test_a_system_task_retries_a_transient_error_under_the_same_policy(worker):
    run = key()

    tasks.system_unavailable_once.delay(key=run)

    wait_for(lambda: tasks.runs(0, run) == 2, what="the system task's retry")


def test_a_task_retried_more_often_than_the_poison_threshold_is_not_quarantined(worker, tenant):
    # A retry keeps the task id and Celery skips after_return for it: the delivery count must be
    # cleared on retry too, or the 4th run of any retried task would be taken for poison.
    run = key()

    tasks.retries_then_succeeds.delay(tenant_id=tenant.id, key=run)

    wait_for(lambda: tasks.runs(tenant.id, run) == 6, what="five retries and the last run")
    time.sleep(0.5)
    assert POISON_DELIVERIES + 1 < 6 and letters(tenant) == []


@pytest.mark.parametrize(("bad", "problem"), [
    ({"event_id": "not-a-number"}, "event_id: Input should be a valid integer"),
    ({"event_id": 7, "evnt_id": 7}, "evnt_id: Extra inputs are not permitted"),
    ({}, "event_id: Field required"),
], ids=["wrong-type", "unknown-name", "missing"])
def test_arguments_that_do_not_validate_go_to_dead_letters_without_running(worker, tenant, bad, problem):
    run = key()

    publish("tests.takes_an_event", tenant_id=tenant.id, key=run, **bad)  # by name: no client-side check

    letter = letter_of(tenant, "tests.takes_an_event")
    assert letter.reason == "invalid_arguments"
    assert letter.error.startswith("InvalidArguments: invalid arguments for tests.takes_an_event: ")
    assert problem in letter.error
    assert tasks.runs(tenant.id, run) == 0


def test_a_task_that_kills_its_worker_is_quarantined_and_its_queue_moves_on(worker, tenant):
    run, after = key(), key()

    tasks.kills_its_worker.delay(tenant_id=tenant.id, key=run)
    tasks.takes_an_event.delay(tenant_id=tenant.id, key=after, event_id=1)

    letter = letter_of(tenant, "tests.kills_its_worker", timeout=90)
    assert (letter.reason, letter.attempts, letter.traceback) == ("poison", 1, None)
    assert f"delivered {POISON_DELIVERIES + 1} times" in letter.error
    assert tasks.runs(tenant.id, run) == POISON_DELIVERIES  # the quarantined delivery never ran the body
    wait_for(lambda: tasks.runs(tenant.id, after) == 1, what="the next task on the queue")
    time.sleep(1)
    assert len(letters(tenant, "tests.kills_its_worker")) == 1
    assert tasks.runs(tenant.id, run) == POISON_DELIVERIES


def test_a_task_killed_at_its_hard_time_limit_is_dead_lettered_once_and_not_run_again(worker, tenant):
    # The pool kills the child at the hard limit: no exception in the task, no on_failure in the child.
    # The worker's main process reports the timeout; it must land in dead_letters like any failure.
    run = key()

    tasks.outlives_its_hard_limit.delay(tenant_id=tenant.id, key=run)

    letter = letter_of(tenant, "tests.outlives_its_hard_limit")
    assert (letter.reason, letter.status, letter.attempts) == ("time_limit", "dead", 1)
    assert letter.error.startswith("TimeLimitExceeded")
    assert letter.kwargs == {"tenant_id": tenant.id, "key": run}
    time.sleep(3)  # a redelivery of the killed message would have started by now
    assert tasks.runs(tenant.id, run) == 1
    assert len(letters(tenant, "tests.outlives_its_hard_limit")) == 1


def test_replay_publishes_the_task_again_with_its_arguments_and_marks_the_row(worker, tenant):
    run = key()
    tasks.refused_by_provider.delay(tenant_id=tenant.id, key=run)
    first = letter_of(tenant, "tests.refused_by_provider")

    result = hookline("dead-letters", "replay", str(first.id), "--tenant", tenant.slug)

    assert result.returncode == 0, result.stderr
    assert "published again, marked replayed" in result.stdout
    wait_for(lambda: tasks.runs(tenant.id, run) == 2, what="the replayed run")
    again = wait_for(lambda: [x for x in letters(tenant) if x.id != first.id], what="the replay's own dead letter")
    assert again[0].kwargs == first.kwargs and again[0].task_id != first.task_id
    with tenant_session(tenant.id) as session:
        replayed = dead_letters.get(session, tenant.id, first.id)
    assert replayed.status == "replayed" and replayed.resolved_at is not None
    assert hookline("dead-letters", "replay", str(first.id)).returncode == 1  # once only


def test_a_dead_letter_with_masked_secrets_is_not_replayed_and_output_never_shows_them(worker, tenant):
    tasks.refused_by_provider.delay(tenant_id=tenant.id, key=key(), api_token="sk_live_do_not_show")
    letter = letter_of(tenant, "tests.refused_by_provider")

    shown = hookline("dead-letters", "show", str(letter.id))
    listed = hookline("dead-letters", "list")
    replay = hookline("dead-letters", "replay", str(letter.id))

    assert shown.returncode == 0 and '"api_token": "***"' in shown.stdout
    assert listed.returncode == 0 and str(letter.id) in listed.stdout
    assert replay.returncode == 1 and "api_token were masked as secrets" in replay.stderr
    for result in (shown, listed, replay):
        assert "sk_live_do_not_show" not in result.stdout + result.stderr


def test_discard_and_tenant_scoping(worker, tenant, other_tenant):
    tasks.refused_by_provider.delay(tenant_id=tenant.id, key=key())
    letter = letter_of(tenant, "tests.refused_by_provider")

    foreign = hookline("dead-letters", "discard", str(letter.id), "--tenant", other_tenant.slug)
    others = hookline("dead-letters", "list", "--tenant", other_tenant.slug)
    discarded = hookline("dead-letters", "discard", str(letter.id), "--tenant", tenant.slug)

    assert foreign.returncode == 1 and f"no dead letter {letter.id} for tenant {other_tenant.slug}" in foreign.stderr
    assert others.stdout.strip() == f"no dead letters for {other_tenant.slug}"
    assert discarded.returncode == 0
    assert letters(tenant)[0].status == "discarded"
    assert "is discarded" in hookline("dead-letters", "replay", str(letter.id)).stderr
