"""A per-tenant request limit shared by every ingress process: a fixed-window counter in Redis."""

from __future__ import annotations

import time

import structlog
from redis import asyncio as aioredis
from redis.exceptions import RedisError

from hookline.ingress.errors import WebhookRejected
from hookline.ratelimit import COUNT, FixedWindow

log = structlog.get_logger(__name__)


class TenantRateLimit:
    """`limit` requests per tenant per `window` seconds; over it, 429 with Retry-After.

    When Redis cannot be reached the request is let through and logged: the limit protects
    the platform, while refusing webhooks because a counter is missing would lose real work.
    """

    def __init__(self, client: aioredis.Redis | None, limit: int, window: int) -> None:
        self.client, self.limit, self.window = client, limit, window
        self._window = FixedWindow("ingress", limit, window)
        self._count = client.register_script(COUNT) if client is not None else None

    @property
    def enabled(self) -> bool:
        return self.client is not None and self.limit > 0

    async def check(self, tenant_id: int) -> None:
        if not self.enabled:
            return
        key, retry_after = self._window.key(tenant_id, time.time())
        try:
            count = await self._count(keys=[key], args=[self._window.expiry])
        except (RedisError, OSError) as exc:
            log.warning("ingress.rate_limit_unavailable", tenant_id=tenant_id, error=repr(exc))
            return
        if count > self.limit:
            log.warning("ingress.rate_limited", tenant_id=tenant_id, count=count, limit=self.limit)
            raise WebhookRejected(429, "rate_limited",
                                  f"more than {self.limit} requests in {self.window} s for this tenant",
                                  headers={"Retry-After": str(retry_after)})
