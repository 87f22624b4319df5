"""Fixed-window counters in Redis, shared by every process: the ingress's and the email senders' limits."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import redis
import structlog
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)

# One atomic round trip (EVALSHA): count, and give a new window's key its expiry.
COUNT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


@dataclass(frozen=True)
class FixedWindow:
    """`limit` events per `window` seconds per subject; `limit` 0 means no limit."""

    scope: str  # part of the key: "ingress", "email:tenant", "email:provider"
    limit: int
    window: int

    def key(self, subject: object, now: float) -> tuple[str, float]:
        """The counter's key for this moment, and the seconds until its window ends (at least 1)."""
        window_start = int(now // self.window) * self.window
        return f"hookline:ratelimit:{self.scope}:{subject}:{window_start}", max(1, math.ceil(window_start + self.window - now))

    @property
    def expiry(self) -> int:
        return self.window + 1


class Limiter:
    """Synchronous checks (the workers). The ingress runs the same script through redis.asyncio."""

    def __init__(self, client: redis.Redis | None) -> None:
        self.client = client
        self._count = client.register_script(COUNT) if client is not None else None

    def wait(self, window: FixedWindow, subject: object) -> float | None:
        """Count one event; None when it is within the limit, else the seconds until the window ends.

        Redis unreachable: let it through and log. The limit protects providers' quotas; stopping
        every send because a counter is missing would be worse.
        """
        if self._count is None or window.limit <= 0:
            return None
        key, seconds_left = window.key(subject, time.time())
        try:
            count = self._count(keys=[key], args=[window.expiry])
        except (RedisError, OSError) as exc:
            log.warning("rate_limit.unavailable", scope=window.scope, error=repr(exc))
            return None
        return seconds_left if count > window.limit else None
