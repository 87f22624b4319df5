"""A real Celery worker process for a test module, on Hookline's app or an app module that extends it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support.ingress import BIN
from tests.support.processes import running, wait_for

if TYPE_CHECKING:
    from celery import Celery

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def celery_worker(log: Path, *, queues: str, app_module: str = "hookline.workers.app", concurrency: int = 2,
                  control: Celery | None = None, **env: str) -> Iterator[str]:
    """Start a worker consuming `queues`; yield its node name once it answers a ping (sent by the
    `control` app when the worker's broker is not this process's: Celery broadcasts on an app's own
    broker, whatever connection it is given)."""
    from hookline.workers.app import app

    app = control or app
    name = f"test-{uuid.uuid4().hex[:8]}@localhost"
    command = [str(BIN / "celery"), "-A", app_module, "worker", "-n", name, "-Q", queues,
               "--concurrency", str(concurrency), "--without-mingle", "--without-gossip", "--loglevel", "INFO"]
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    with running(command, log=log, env={"PYTHONPATH": pythonpath, **env}) as process:
        def answered() -> object:
            return app.control.ping(destination=[name], timeout=0.5) or process.poll() is not None

        wait_for(answered, timeout=120, what=f"worker {name}")  # a loaded CI box starts Celery slowly
        assert process.poll() is None, log.read_text()
        yield name
