"""`hookline worker-check`: does a worker answer, and does it still take messages off its queues?

A ping proves the worker's control channel is alive, not that it consumes: after a broker
reconnect a worker can answer pings while its task consumer is gone. So the check also sends a
canary task to the worker's own direct queue (`worker_direct`) and waits for the canary's mark
in Redis.
"""

from __future__ import annotations

import time
import uuid

from celery.utils.nodenames import worker_direct

from hookline.workers.deliveries import redis_client

CANARY = "hookline.tasks.maintenance.canary"


class WorkerUnhealthy(Exception):
    """The worker did not answer, or did not run the canary in time; the message says which."""


def _key(token: str) -> str:
    return f"hookline:canary:{token}"


def answer(token: str) -> None:
    client = redis_client()
    if client is not None:
        client.set(_key(token), "1", ex=300)


def check(name: str, *, timeout: float) -> tuple[float, float]:
    """Ping worker `name`, then have it run the canary; (ping seconds, canary seconds), or raise."""
    from hookline.workers.app import app

    client = redis_client()
    if client is None:
        raise WorkerUnhealthy("the canary needs Redis: set HOOKLINE_REDIS_URL (the broker is not Redis)")
    started = time.monotonic()
    if not app.control.ping(destination=[name], timeout=min(timeout, 2.0)):
        raise WorkerUnhealthy(f"worker {name} did not answer a ping within {min(timeout, 2.0):g} s")
    pinged = time.monotonic()
    token = uuid.uuid4().hex
    # `expires`: a worker that is stuck must not find a pile of canaries when it comes back.
    app.send_task(CANARY, kwargs={"token": token}, queue=worker_direct(name), expires=timeout + 60)
    deadline = started + timeout
    while time.monotonic() < deadline:
        if client.delete(_key(token)):
            return pinged - started, time.monotonic() - pinged
        time.sleep(0.05)
    raise WorkerUnhealthy(f"worker {name} answers pings but did not run a canary task within {timeout:g} s: "
                          "it is not consuming its queues (restart it)")
