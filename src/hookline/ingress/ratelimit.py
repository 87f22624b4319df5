"""A per-tenant request limit shared by every ingress process: a fixed-window counter in Redis, taken in leases.

Asking Redis for every request cost a round trip and ~60 µs of the event loop's CPU per
webhook. Instead a process takes a lease of several requests at once (one INCRBY) and spends it
locally. Leases never add up past the limit, so no window ever admits more than `limit`
requests in all; the price is that a lease one process has not spent yet is not available to
another, so with several processes a tenant can be refused up to (processes − 1) × lease
requests early in a window. The lease is at most 1/100 of the limit, so that is little.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import structlog
from redis import asyncio as aioredis
from redis.exceptions import RedisError

from hookline.ingress.errors import WebhookRejected
from hookline.ratelimit import FixedWindow

log = structlog.get_logger(__name__)

# One atomic round trip (EVALSHA): take ARGV[2] from the window's counter, give a new key its expiry.
LEASE = """
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
if count == tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""
MAX_LEASE = 100
TENANTS_REMEMBERED = 10_000


def lease_size(limit: int) -> int:
    """Requests taken per Redis call: 1/100 of the limit, at least 1 (an exact limit), at most MAX_LEASE."""
    return max(1, min(MAX_LEASE, limit // 100))


@dataclass
class _Lease:
    key: str = ""  # the window the requests left were taken from
    left: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class TenantRateLimit:
    """`limit` requests per tenant per `window` seconds; over it, 429 with Retry-After.

    When Redis cannot be reached the request is let through and logged: the limit protects
    the platform, while refusing webhooks because a counter is missing would lose real work.
    """

    def __init__(self, client: aioredis.Redis | None, limit: int, window: int) -> None:
        self.client, self.limit, self.window = client, limit, window
        self._window = FixedWindow("ingress", limit, window)
        self._lease_script = client.register_script(LEASE) if client is not None else None
        self.lease = lease_size(limit)
        self._leases: dict[int, _Lease] = {}

    @property
    def enabled(self) -> bool:
        return self.client is not None and self.limit > 0

    async def check(self, tenant_id: int) -> None:
        if not self.enabled:
            return
        key, retry_after = self._window.key(tenant_id, time.time())
        lease = self._leases.get(tenant_id)
        if lease is not None and lease.key == key and lease.left > 0:
            lease.left -= 1  # the common case: no await, no round trip
            return
        if lease is None:
            if len(self._leases) >= TENANTS_REMEMBERED:  # bounded: a forgotten lease is only a few requests
                self._leases.clear()
            lease = self._leases[tenant_id] = _Lease()
        async with lease.lock:  # one request takes the next lease; the others wait for it
            if lease.key != key or lease.left <= 0:
                granted = await self._take(tenant_id, key)
                if granted is None:  # Redis unreachable: let it through
                    return
                lease.key, lease.left = key, granted
            if lease.left <= 0:
                log.warning("ingress.rate_limited", tenant_id=tenant_id, limit=self.limit)
                raise WebhookRejected(429, "rate_limited",
                                      f"more than {self.limit} requests in {self.window} s for this tenant",
                                      headers={"Retry-After": str(retry_after)})
            lease.left -= 1

    async def _take(self, tenant_id: int, key: str) -> int | None:
        """Requests granted from this window's counter (0 when it is spent), or None when Redis cannot say."""
        assert self._lease_script is not None
        try:
            count = await self._lease_script(keys=[key], args=[self._window.expiry, self.lease])
        except (RedisError, OSError) as exc:
            log.warning("ingress.rate_limit_unavailable", tenant_id=tenant_id, error=repr(exc))
            return None
        # This lease is the counter's range (count − lease, count]; what of it lies within the limit is ours.
        return max(0, min(self.lease, self.limit - (count - self.lease)))
