"""`hookline worker-check` against a real worker: healthy, not consuming, gone."""

import pytest
from celery.utils.nodenames import worker_direct

from hookline.workers.app import app
from tests.support.cli import hookline
from tests.support.workers import celery_worker

pytestmark = pytest.mark.e2e


@pytest.fixture()
def worker(database, redis_client, tmp_path):
    with celery_worker(tmp_path / "worker.log", queues="webhooks", concurrency=1) as name:
        yield name


def test_a_consuming_worker_passes_and_one_that_stopped_consuming_fails(worker):
    healthy = hookline("worker-check", "--name", worker, "--timeout", "20")

    assert healthy.returncode == 0, healthy.stderr
    assert healthy.stdout.startswith(f"worker {worker}: ok (ping ")

    # What a worker looks like after a broker reconnect that lost its consumer: it still answers pings.
    app.control.cancel_consumer(worker_direct(worker).name, destination=[worker], reply=True, timeout=5)
    stuck = hookline("worker-check", "--name", worker, "--timeout", "3")

    assert stuck.returncode == 1
    assert f"worker {worker} answers pings but did not run a canary task within 3 s" in stuck.stderr


def test_a_worker_that_does_not_answer_fails(database):
    gone = hookline("worker-check", "--name", "nobody@nowhere", "--timeout", "1")

    assert gone.returncode == 1
    assert "worker nobody@nowhere did not answer a ping within 1 s" in gone.stderr
