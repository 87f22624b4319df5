"""Every Redis client Hookline opens, sync or asyncio, for a redis://, unix:// or sentinel:// URL.

A sentinel:// URL (kombu's spelling: `sentinel://[:password@]host:port[/db];sentinel://host:port…`)
names the Sentinels, not a Redis: the client asks them for the current master of
HOOKLINE_REDIS_SENTINEL_MASTER before each new connection (redis-py's SentinelConnectionPool).
After a failover the first command on an old connection fails, its connection is dropped, and
the next one goes to the promoted replica. A password in the URL is the Redis servers' and the
Sentinels' both (one `requirepass` for the broker host); the db is the first URL's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import redis
from redis import asyncio as aioredis
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.sentinel import Sentinel

SENTINEL_PORT = 26379


@dataclass(frozen=True)
class SentinelURL:
    sentinels: tuple[tuple[str, int], ...]
    db: int = 0
    username: str | None = None
    password: str | None = None

    @property
    def credentials(self) -> dict[str, Any]:
        return {key: value for key, value in (("username", self.username), ("password", self.password)) if value}


def is_sentinel(url: str) -> bool:
    return url.startswith("sentinel://")


def parse_sentinel_url(url: str) -> SentinelURL:
    """The Sentinels, db and credentials of a `sentinel://…;sentinel://…` URL, or ValueError."""
    sentinels, db, username, password = [], None, None, None
    for part in filter(None, (piece.strip() for piece in url.split(";"))):
        parts = urlsplit(part)
        if parts.scheme != "sentinel" or not parts.hostname:
            raise ValueError(f"not a sentinel://host:port URL: {part.split('@')[-1][:80]!r}")
        try:
            sentinels.append((parts.hostname, parts.port or SENTINEL_PORT))
        except ValueError:  # parts.port: not a number, or out of range
            raise ValueError(f"bad port in {part.split('@')[-1][:80]!r}") from None
        path = parts.path.strip("/")
        if db is None and path:
            if not path.isdigit():
                raise ValueError(f"the db must be a number, not {path[:20]!r}")
            db = int(path)
        username = username or (unquote(parts.username) if parts.username else None)
        password = password or (unquote(parts.password) if parts.password else None)
    if not sentinels:
        raise ValueError("no sentinel://host:port in the URL")
    return SentinelURL(tuple(sentinels), db or 0, username, password)


def _sentinel_options(url: SentinelURL, options: dict[str, Any]) -> dict[str, Any]:
    """Connection options for the Sentinels themselves: the URL's credentials and the socket timeouts."""
    return {**url.credentials, **{key: value for key, value in options.items() if key.startswith("socket_")}}


def _master_name(master: str | None) -> str:
    if master is not None:
        return master
    from hookline.config import get_settings

    return get_settings().redis_sentinel_master


def sync_client(url: str, *, master: str | None = None, **options: Any) -> redis.Redis:
    """A client of `url` (`options` as redis.Redis takes them: socket_timeout, …). On sentinel://,
    of the current master named `master` (None: HOOKLINE_REDIS_SENTINEL_MASTER)."""
    if not is_sentinel(url):
        return redis.Redis.from_url(url, **options)
    parsed = parse_sentinel_url(url)
    sentinel = Sentinel(parsed.sentinels, sentinel_kwargs=_sentinel_options(parsed, options))
    return sentinel.master_for(_master_name(master), db=parsed.db, **parsed.credentials, **options)


def async_client(url: str, *, master: str | None = None, **options: Any) -> aioredis.Redis:
    """The asyncio twin of sync_client."""
    if not is_sentinel(url):
        return aioredis.from_url(url, **options)
    parsed = parse_sentinel_url(url)
    sentinel = AsyncSentinel(parsed.sentinels, sentinel_kwargs=_sentinel_options(parsed, options))
    return sentinel.master_for(_master_name(master), db=parsed.db, **parsed.credentials, **options)


def broker_transport_options(url: str, master: str) -> dict[str, Any]:
    """What kombu's Redis transport needs beyond the URL for a sentinel:// broker: the master's
    name, and for the Sentinels the URL's password (kombu gives it only to the Redis servers) and
    timeouts (a Sentinel host cut off would otherwise hang the worker's reconnect)."""
    if not is_sentinel(url):
        return {}
    sentinel_kwargs = {"socket_timeout": 1, "socket_connect_timeout": 1, **parse_sentinel_url(url).credentials}
    return {"master_name": master, "sentinel_kwargs": sentinel_kwargs}
