"""A real Celery worker process for a test module, on Hookline's app or an app module that extends it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from celery import Celery

from tests.support.ingress import BIN
from tests.support.processes import running, wait_for

ROOT = Path(__file__).resolve().parents[2]


def celery_at(broker_url: str, **changes) -> Celery:
    """A Celery app configured as Hookline's would be for another broker (and `changes`)."""
    from hookline.workers.app import app
    from hookline.workers.routing import task_queues_for

    celery = Celery("hookline-test", set_as_current=False)
    celery.conf.update({**app.conf.table(with_defaults=False, censored=False), "broker_url": broker_url,
                        "task_queues": task_queues_for(broker_url), **changes})
    return celery


@contextmanager
def celery_worker(log: Path, *, queues: str, app_module: str = "hookline.workers.app", concurrency: int = 2,
                  control: Celery | None = None, options: tuple[str, ...] = (), **env: str) -> Iterator[str]:
    """Start a worker consuming `queues` (with more command-line `options`); yield its node name once it answers a ping, sent by the
    `control` app, else through the broker of `HOOKLINE_BROKER_URL` in `env` when given, else the
    tests' Redis (Celery broadcasts on an app's own broker, whatever connection it is given)."""
    from hookline.workers.app import app

    if control is None:
        control = celery_at(env["HOOKLINE_BROKER_URL"]) if "HOOKLINE_BROKER_URL" in env else app
    name = f"test-{uuid.uuid4().hex[:8]}@localhost"
    command = [str(BIN / "celery"), "-A", app_module, "worker", "-n", name, "-Q", queues,
               "--concurrency", str(concurrency), "--without-mingle", "--without-gossip", "--loglevel", "INFO", *options]
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    with running(command, log=log, env={"PYTHONPATH": pythonpath, **env}) as process:
        wait_for(lambda: control.control.ping(destination=[name], timeout=0.5) or process.poll() is not None,
                 timeout=120, what=f"worker {name}")  # a loaded CI box starts Celery slowly
        assert process.poll() is None, log.read_text()
        yield name
