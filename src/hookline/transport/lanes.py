"""Fairness across tenants: a tenant that floods a queue has its next events sent to `<queue>.bulk`.

Chosen at publish time (docs/architecture.md, "Fairness across tenants"): every publisher counts
its events per tenant in Redis, in fixed windows shared by every process. A tenant that publishes
more than `burst` events in one window is marked hot for `cooldown` seconds (renewed while it
stays over), and while hot its tasks go to the queue's bulk lane. Workers consume both lanes and,
on Redis, ask for the main lanes first and only when a process is free (workers/lane_order.py), so
the other tenants' work waits for at most one bulk message's run, and when they have none the flood gets the
workers to itself. One Redis round trip per publisher batch (a pipeline of one script per tenant).
The ingress's publisher makes that round trip while the batch goes out, routed by the answers of
the batches before (`known_hot`): a tenant turns hot, or cools down, one batch late.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Iterable, Mapping
from typing import Any

import redis
import structlog
from redis import asyncio as aioredis
from redis.exceptions import NoScriptError, RedisError

from hookline.ratelimit import FixedWindow
from hookline.workers.routing import FAIR_QUEUES, bulk_queue, queue_of

log = structlog.get_logger(__name__)

# KEYS: the tenant's window counter, its hot mark. ARGV: events, counter expiry, burst, cooldown.
# Returns 1 when the tenant is hot (over the burst now, or within the cooldown of the last time).
HOT = """
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
if count == tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
if count > tonumber(ARGV[3]) then
  redis.call('SET', KEYS[2], '1', 'EX', ARGV[4])
  return 1
end
return redis.call('EXISTS', KEYS[2])
"""


def lane(task_name: str, bulk: bool) -> dict[str, Any]:
    """Publish options sending `task_name` to its queue's bulk lane; {} for the main lane (the router's)."""
    queue = queue_of(task_name)
    if not bulk or queue not in FAIR_QUEUES:
        return {}
    return {"queue": bulk_queue(queue), "routing_key": bulk_queue(queue)}


class Lanes:
    """Which tenants are hot, counting the events about to be published. Keys expire on their own:
    a publisher killed mid-flood leaves nothing to clean up, and a tenant cools down by itself."""

    def __init__(self, client: redis.Redis | None, *, burst: int, window: int, cooldown: int,
                 async_client: aioredis.Redis | None = None) -> None:
        self.client, self.async_client, self.burst, self.cooldown = client, async_client, burst, cooldown
        self._window = FixedWindow("fair", burst, window)
        self._sha = hashlib.sha1(HOT.encode()).hexdigest()
        self._window_seconds = window
        self._answered_hot: dict[int, float] = {}  # tenant → when hot_async last called it hot (monotonic)

    @classmethod
    def from_settings(cls, settings: Any = None, *, async_client: aioredis.Redis | None = None) -> Lanes:
        """Lanes on the shared Redis: counted by `hot_async` on `async_client` when given (the ingress
        passes the client of its rate limit, the same Redis), else by `hot` on a client of their own."""
        from hookline.config import get_settings, redis_client_url
        from hookline.redis_clients import sync_client

        settings = settings or get_settings()
        url = redis_client_url(settings)
        client = None
        if url and async_client is None:
            client = sync_client(url, master=settings.redis_sentinel_master, socket_timeout=1, socket_connect_timeout=1)
        return cls(client, burst=settings.fairness_burst, window=settings.fairness_window_seconds,
                   cooldown=settings.fairness_cooldown_seconds, async_client=async_client)

    def hot(self, counts: Mapping[int, int]) -> set[int]:
        """Count `counts[tenant]` events per tenant; the tenants whose events go to the bulk lane.

        Redis unreachable: every tenant stays on the main lane (logged). Fairness is lost for a
        while, no event is: the lane only decides which list a message waits in.
        """
        if self.client is None or self.burst <= 0 or not counts:
            return set()
        tenants = list(counts)
        try:
            answers = self._count(tenants, counts)
        except (RedisError, OSError) as exc:
            return self._unavailable(exc)
        return {tenant_id for tenant_id, answer in zip(tenants, answers, strict=True) if answer}

    async def hot_async(self, counts: Mapping[int, int]) -> set[int]:
        """`hot` on the asyncio client (the ingress's event loop); the answer is also kept for `known_hot`."""
        if self.async_client is None or self.burst <= 0 or not counts:
            return set()
        tenants = list(counts)
        try:
            answers = await self._count_async(tenants, counts)
        except (RedisError, OSError) as exc:
            return self._unavailable(exc)
        now = time.monotonic()
        for tenant_id, answer in zip(tenants, answers, strict=True):
            if answer:
                self._answered_hot[tenant_id] = now
            else:
                self._answered_hot.pop(tenant_id, None)
        return {tenant_id for tenant_id, answer in zip(tenants, answers, strict=True) if answer}

    def known_hot(self, tenants: Iterable[int]) -> set[int]:
        """The tenants `hot_async` last called hot, within a window: what the ingress's publisher routes
        by while it counts the same batch, so a batch waits for one Redis round trip, not two (one
        batch late when a tenant turns hot or cools down; a flood is thousands of events)."""
        now = time.monotonic()
        return {tenant_id for tenant_id in tenants if now - self._answered_hot.get(tenant_id, -math.inf) < self._window_seconds}

    def _unavailable(self, exc: Exception) -> set[int]:
        log.warning("fairness.unavailable", error=repr(exc))
        return set()

    def _queue_counts(self, pipe: Any, tenants: list[int], counts: Mapping[int, int]) -> None:
        # EVALSHA in a pipeline: one round trip (redis-py's Script in a pipeline asks SCRIPT
        # EXISTS first, every time); the script is loaded once per Redis when it is missing.
        now = time.time()
        for tenant_id in tenants:
            key, _ = self._window.key(tenant_id, now)
            pipe.evalsha(self._sha, 2, key, f"hookline:fair:hot:{tenant_id}", counts[tenant_id],
                         self._window.expiry, self.burst, self.cooldown)

    def _count(self, tenants: list[int], counts: Mapping[int, int]) -> list[Any]:
        assert self.client is not None  # hot() answered without asking
        for attempt in range(2):
            try:
                with self.client.pipeline(transaction=False) as pipe:
                    self._queue_counts(pipe, tenants, counts)
                    return pipe.execute()
            except NoScriptError:
                if attempt:
                    raise
                self.client.script_load(HOT)
        raise AssertionError("unreachable")

    async def _count_async(self, tenants: list[int], counts: Mapping[int, int]) -> list[Any]:
        assert self.async_client is not None  # hot_async() answered without asking
        for attempt in range(2):
            try:
                async with self.async_client.pipeline(transaction=False) as pipe:
                    self._queue_counts(pipe, tenants, counts)
                    return await pipe.execute()
            except NoScriptError:
                if attempt:
                    raise
                await self.async_client.script_load(HOT)
        raise AssertionError("unreachable")
