"""The ingress (uvicorn) and a Celery worker, as real processes against the test database and Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.ingress import BIN, ingress
from tests.support.processes import running, wait_for


# Module scope: the worker must be gone before other tests read messages off the queues.
@pytest.fixture(scope="module")
def ingress_url(database, tmp_path_factory) -> str:
    with ingress(tmp_path_factory.mktemp("ingress") / "ingress.log") as url:
        yield url


@pytest.fixture(scope="module")
def ingress_without_broker(database, tmp_path_factory) -> str:
    """An ingress whose broker is unreachable (nothing listens on port 1): publishing fails."""
    with ingress(tmp_path_factory.mktemp("ingress") / "ingress-no-broker.log",
                 HOOKLINE_BROKER_URL="redis://127.0.0.1:1/0") as url:
        yield url


class Worker:
    def __init__(self, name: str, log: Path, process=None) -> None:
        self.name, self.log, self.process = name, log, process

    def lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()


@contextmanager
def celery_worker(queues: list[str], log: Path, env: dict[str, str] | None = None, *,
                  empty: bool = True) -> Iterator[Worker]:
    """A real Celery worker consuming `queues` (emptied first unless `empty` is False: no message left
    over from other tests)."""
    import redis

    from hookline.workers.app import app
    from tests.conftest import REDIS_URL

    if empty:
        redis.Redis.from_url(REDIS_URL).delete(*queues)
    name = f"e2e-{uuid.uuid4().hex[:8]}@localhost"
    command = [str(BIN / "celery"), "-A", "hookline.workers.app", "worker", "-n", name, "-Q", ",".join(queues),
               "--concurrency", "2", "--without-mingle", "--without-gossip", "--loglevel", "INFO"]
    with running(command, log=log, env=env) as process:
        wait_for(lambda: app.control.ping(destination=[name], timeout=0.5) or process.poll() is not None,
                 what=f"worker {name}")
        assert process.poll() is None, log.read_text()
        yield Worker(name, log, process)


@pytest.fixture(scope="module")
def worker(database, redis_client, tmp_path_factory) -> Worker:
    with celery_worker(["ghl_sync", "dunning", "maintenance"], tmp_path_factory.mktemp("worker") / "worker.log") as started:
        yield started
