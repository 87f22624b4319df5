"""A Redis broker restarted under a worker that holds a task waiting for its retry (workers/kombu_redis_fix.py)."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import redis

from tests.conftest import REDIS_URL
from tests.support import failing_tasks as tasks
from tests.support.processes import free_port, running, wait_for
from tests.support.workers import celery_at, celery_worker

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer:
    """A redis-server of the test's own on a free port, keeping its data in an append-only file as a
    production broker does, so that it can be stopped and started again with its messages."""

    def __init__(self, directory: Path) -> None:
        self.port, self.directory, self.starts = free_port(), directory, 0
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process = ExitStack()

    def start(self) -> None:
        self.starts += 1
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
                   "--appendonly", "yes", "--save", ""]
        self._process.enter_context(running(command, log=self.directory / f"redis-{self.starts}.log"))
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        wait_for(lambda: _answers(client), timeout=20, what=f"redis-server on {self.port}")
        client.close()

    def stop(self) -> None:
        self._process.close()  # SIGTERM: Redis flushes its append-only file and exits


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def _pong(url: str, name: str) -> list:
    try:
        return celery_at(url).control.ping(destination=[name], timeout=1)
    except redis.ConnectionError:  # kombu's pooled connection of before the restart: the next try has a new one
        return []


@pytest.fixture()
def broker(tmp_path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def test_a_worker_holding_a_retry_survives_a_broker_restart_and_runs_the_retry_once(tenant, broker, tmp_path):
    worker_log, run = tmp_path / "worker.log", uuid.uuid4().hex
    with celery_worker(worker_log, queues="webhooks", app_module="tests.support.failing_tasks", concurrency=1,
                       HOOKLINE_BROKER_URL=broker.url, HOOKLINE_REDIS_URL=REDIS_URL) as name:
        # given: the first run failed for a passing reason; its retry waits 8 s in the worker (unacked)
        celery_at(broker.url).send_task(tasks.unavailable_once.name, queue="webhooks",
                                        kwargs={"tenant_id": tenant.id, "key": run, "retry_after": 8})
        wait_for(lambda: "retry: Retry in" in worker_log.read_text(), timeout=30, what="the first run's retry")
        assert tasks.runs(tenant.id, run) == 1

        # when: Redis stops under the worker and comes back a moment later
        broker.stop()
        time.sleep(1)
        broker.start()

        # then: the worker is still there, answers through the restarted broker, and runs the retry once
        wait_for(lambda: tasks.runs(tenant.id, run) == 2, timeout=60, what="the retry after the restart")
        time.sleep(3)  # a second copy of the retry would run within this
        assert tasks.runs(tenant.id, run) == 2
        assert wait_for(lambda: _pong(broker.url, name), timeout=20, what=f"{name} answering a ping")
        text = worker_log.read_text()
    assert "Unrecoverable error" not in text
    assert "broker.restored_after_reconnect" in text  # put back at once, not after the visibility timeout


def test_the_mended_channel_serves_every_redis_url_spelling():
    # kombu picks the transport by the URL's scheme; `hookline dev`'s embedded Redis is redis+socket://.
    # (Installed when hookline.workers.app is imported: tests.support.failing_tasks, above, does.)
    from kombu import Connection

    from hookline.workers import kombu_redis_fix

    for url, transport in [("redis://127.0.0.1:6379/0", kombu_redis_fix.Transport),
                           ("rediss://127.0.0.1:6380/0", kombu_redis_fix.Transport),
                           ("redis+socket:///tmp/redis.sock", kombu_redis_fix.Transport),
                           ("sentinel://127.0.0.1:26379", kombu_redis_fix.SentinelTransport)]:
        assert Connection(url).get_transport_cls() is transport, url
