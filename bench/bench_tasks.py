"""The worker app of the end-to-end benches: Hookline's Celery app plus a no-op task on ghl_sync.

    celery -A bench_tasks worker …   (with bench/ on PYTHONPATH: bench/stack.py starts it so)

The no-op measures what Celery itself costs per task on this machine, in the same worker as
the real tasks; a call with `mark` stamps the time it ran in Redis (the end of a drain).
"""

from __future__ import annotations

import time

from hookline.config import get_settings, redis_client_url
from hookline.redis_clients import sync_client
from hookline.workers.app import app

NOOP = "hookline.tasks.ghl_sync.bench_noop"  # the module-name route puts it on ghl_sync

__all__ = ["app", "noop"]


@app.task(name=NOOP)
def noop(mark: str | None = None, **_: object) -> None:
    if mark:
        sync_client(redis_client_url(get_settings())).set(mark, time.time())
