"""Provider rate limits shared by every worker process: one atomic Lua script per request in Redis.

A key is one provider account as the provider counts it (GoHighLevel: app + location; Reonic:
the account). Each key has buckets: a sliding window (a sorted set of request times, exact) or
a fixed window (a counter, for big daily limits). Time is Redis's own clock, so workers on other
hosts agree. A request takes its slots when it leaves and, once answered, moves its sliding-window
slots to the answer's time: the provider counted it somewhere in between, so a window counted
from the answer is never shorter than the provider's. A 429's `Retry-After` blocks the key until then; the provider's `…-Remaining`
headers pad our count when someone else spent part of the budget.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import redis

from hookline.integrations.errors import RateLimited

# Returns 0 and records the request in every bucket, or the milliseconds to wait (records nothing).
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function blocked(key)
  local until_ms = tonumber(redis.call('GET', key) or '0')
  if until_ms > now then return until_ms - now end
  return 0
end
local wait = blocked(KEYS[1])
local n = (#KEYS - 1) / 2
for i = 1, n do
  local counter, limit, window = KEYS[2 * i], tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i])
  wait = math.max(wait, blocked(KEYS[2 * i + 1]))
  if ARGV[3 * i + 1] == '1' then
    local start = now - (now % window)
    if tonumber(redis.call('GET', counter .. ':' .. start) or '0') >= limit then
      wait = math.max(wait, start + window - now)
    end
  else
    redis.call('ZREMRANGEBYSCORE', counter, '-inf', now - window)
    local count = redis.call('ZCARD', counter)
    if count >= limit then
      local oldest = redis.call('ZRANGE', counter, count - limit, count - limit, 'WITHSCORES')
      wait = math.max(wait, tonumber(oldest[2]) + window - now + 1)
    end
  end
end
if wait > 0 then return wait end
for i = 1, n do
  local counter, window = KEYS[2 * i], tonumber(ARGV[3 * i])
  if ARGV[3 * i + 1] == '1' then
    local key = counter .. ':' .. (now - (now % window))
    redis.call('INCR', key)
    redis.call('PEXPIRE', key, window * 2)
  else
    redis.call('ZADD', counter, now, ARGV[1] .. ':' .. i)
    redis.call('PEXPIRE', counter, window)
  end
end
return 0
"""

# Sets a block marker to now + ARGV[1] ms unless it already blocks longer.
BLOCK = """
local t = redis.call('TIME')
local until_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
if tonumber(redis.call('GET', KEYS[1]) or '0') < until_ms then
  redis.call('SET', KEYS[1], until_ms, 'PX', tonumber(ARGV[1]) + 1000)
end
return until_ms
"""

# Moves a request's slots (member ARGV[1]:<bucket index>) in sliding buckets KEYS to now. A slot the
# window dropped while the request was in flight is added again: the provider may have counted it late.
ANSWERED = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], now, ARGV[1] .. ':' .. ARGV[2 * i])
  redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[2 * i + 1]))
end
return #KEYS
"""

# Pads a bucket so that it counts at least ARGV[1] requests in the current window (never lowers it).
PAD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local used, window = tonumber(ARGV[1]), tonumber(ARGV[2])
if ARGV[3] == '1' then
  local key = KEYS[1] .. ':' .. (now - (now % window))
  if tonumber(redis.call('GET', key) or '0') < used then redis.call('SET', key, used, 'PX', window * 2) end
  return used
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
for i = count + 1, used do redis.call('ZADD', KEYS[1], now, 'pad:' .. now .. ':' .. i) end
redis.call('PEXPIRE', KEYS[1], window)
return math.max(count, used)
"""


@dataclass(frozen=True)
class Bucket:
    """`limit` requests per `window` seconds. `fixed`: calendar-aligned windows (a plain counter)."""

    name: str
    limit: int
    window: float
    fixed: bool = False

    @property
    def window_ms(self) -> int:
        return max(1, int(self.window * 1000))


class RateLimiter:
    """Waits for a free slot up to `max_wait` seconds; beyond that raises RateLimited(retry_after)."""

    def __init__(self, client: redis.Redis, *, max_wait: float = 5.0, prefix: str = "hookline:ratelimit") -> None:
        self.client, self.max_wait, self.prefix = client, max_wait, prefix
        self._acquire = client.register_script(ACQUIRE)
        self._block = client.register_script(BLOCK)
        self._answered = client.register_script(ANSWERED)
        self._pad = client.register_script(PAD)

    def _keys(self, key: str, buckets: Sequence[Bucket]) -> list[str]:
        # One hash tag per key: every bucket of a key lives in one Redis Cluster slot.
        keys = [f"{self.prefix}:{{{key}}}:blocked"]
        for bucket in buckets:
            keys += [f"{self.prefix}:{{{key}}}:{bucket.name}", f"{self.prefix}:{{{key}}}:{bucket.name}:blocked"]
        return keys

    def try_acquire(self, key: str, buckets: Sequence[Bucket], ticket: str | None = None) -> float:
        """Take a slot in every bucket and return 0, or return the seconds to wait (taking nothing).

        `ticket` names the slots taken (see `answered`); a new one when not given.
        """
        args: list[str | int] = [ticket or uuid.uuid4().hex]
        for bucket in buckets:
            args += [bucket.limit, bucket.window_ms, int(bucket.fixed)]
        return int(self._acquire(keys=self._keys(key, buckets), args=args)) / 1000

    def acquire(self, key: str, buckets: Sequence[Bucket]) -> str:
        """Block until a slot is free and return its ticket, or raise RateLimited when that is more than
        `max_wait` away. Pass the ticket to `answered` when the request has its answer (or failed)."""
        ticket = uuid.uuid4().hex
        deadline = time.monotonic() + self.max_wait
        while True:
            wait = self.try_acquire(key, buckets, ticket)
            if wait <= 0:
                return ticket
            if time.monotonic() + wait > deadline:
                raise RateLimited(f"rate limit of {key}: next slot in {wait:.1f} s", retry_after=wait)
            time.sleep(wait + random.uniform(0, 0.02))  # jitter: waiters do not all wake at once

    def answered(self, key: str, buckets: Sequence[Bucket], ticket: str) -> None:
        """The request that took `ticket` is answered or failed: its sliding-window slots count from now.

        We count a request when it leaves and the provider when it arrives, which is later by the
        network's delay; counted from the answer, our window is never ahead of the provider's.
        """
        sliding = [(index, bucket) for index, bucket in enumerate(buckets, start=1) if not bucket.fixed]
        if not sliding:
            return
        args: list[str | int] = [ticket]
        for index, bucket in sliding:
            args += [index, bucket.window_ms]
        self._answered(keys=[f"{self.prefix}:{{{key}}}:{bucket.name}" for _, bucket in sliding], args=args)

    def block(self, key: str, seconds: float, bucket: str | None = None) -> None:
        """No request for `key` (or only its `bucket`) until `seconds` from now, e.g. a 429's Retry-After."""
        name = f"{self.prefix}:{{{key}}}:{bucket}:blocked" if bucket else f"{self.prefix}:{{{key}}}:blocked"
        self._block(keys=[name], args=[max(1, int(seconds * 1000))])

    def pad(self, key: str, bucket: Bucket, used: int) -> None:
        """The provider says `used` requests are spent in this window: count at least that many."""
        used = min(max(used, 0), bucket.limit)
        self._pad(keys=[f"{self.prefix}:{{{key}}}:{bucket.name}"], args=[used, bucket.window_ms, int(bucket.fixed)])
