"""How many times a task id was handed to a worker without finishing: the poison-message counter.

A task that kills its worker child (a segfault in a C extension, the OOM killer, os._exit) never
reaches its failure handler: with late acknowledgement and reject-on-worker-lost its message
goes back to the queue and comes again, for ever. TenantTask counts each start of a task id in
Redis and forgets it when the run returns (success, failure or retry); a count that keeps
growing means every run died. Past POISON_DELIVERIES the message is quarantined.

Only a redelivered message is counted: a message put back (kombu's Redis transport marks it so
when it restores it; RabbitMQ always does) is the only one whose earlier runs can have died. A
first delivery, nearly every task, costs no Redis round trip at all; its run is counted as the
first of the series. A message put back unstarted (a worker's warm shutdown) thus counts one run
too many: it is quarantined after POISON_DELIVERIES - 1 deaths instead of POISON_DELIVERIES.
"""

from __future__ import annotations

from functools import lru_cache

import redis
import structlog

from hookline.config import get_settings, redis_client_url
from hookline.redis_clients import sync_client

log = structlog.get_logger(__name__)

POISON_DELIVERIES = 3  # runs that died before the next delivery is quarantined, not run
COUNT_TTL = 24 * 3600  # a counter nobody finished is dropped after a day


@lru_cache(maxsize=1)
def redis_client() -> redis.Redis | None:
    """Redis for the workers' own counters (HOOKLINE_REDIS_URL, else the broker if it is Redis)."""
    url = redis_client_url(get_settings())
    return None if url is None else sync_client(url, socket_timeout=2, socket_connect_timeout=2)


def _key(tenant_id: int, task_id: str) -> str:
    return f"hookline:t{tenant_id}:deliveries:{task_id}"


def started(tenant_id: int, task_id: str, *, redelivered: bool) -> int:
    """Count one more start of `task_id`; the runs so far, this one included (0 when it cannot be counted).

    A first delivery is run 1 and is not written down (see the module's docstring).
    """
    if not redelivered:
        return 1
    client = redis_client()
    if client is None:
        return 0
    try:
        with client.pipeline() as pipe:
            pipe.incr(_key(tenant_id, task_id))
            pipe.expire(_key(tenant_id, task_id), COUNT_TTL)
            count, _ = pipe.execute()
        return int(count) + 1  # and the first delivery, never counted
    except redis.RedisError as exc:  # no counter: run the task rather than refuse real work
        log.warning("task.deliveries.unavailable", error=repr(exc))
        return 0


def finished(tenant_id: int, task_id: str) -> None:
    client = redis_client()
    if client is None:
        return
    try:
        client.delete(_key(tenant_id, task_id))
    except redis.RedisError as exc:  # the key expires on its own
        log.warning("task.deliveries.unavailable", error=repr(exc))
