"""kombu's Redis transport, mended so that a worker survives a Redis restart (kombu 5.7.0, the latest release).

The bug (the same AttributeError as https://github.com/celery/kombu/issues/582, reached a new
way): when Redis goes away, Celery's consumer closes the connection twice, `collect()` then
`close()`. In the first, the channel's `close()` reads the pending BRPOP reply first; with the
server gone that raises, so the channel is never marked closed. `collect()` then drops the
transport's client, and the second `close()` tries to put the unacknowledged messages back
through it: `AttributeError: 'NoneType' object has no attribute 'hostname'`. That is not a
connection error, so the worker stops ("Unrecoverable error"). It happens only while the channel
holds an unacknowledged message, e.g. a task waiting for its retry's countdown.

The mend: a failed read of the pending reply no longer aborts `close()`. And the messages it could
not put back (Redis was down at that moment, as it always is here) are put back by the next
channel this process opens, once Redis answers again, instead of waiting out the visibility
timeout (two hours: workers/limits.py); https://github.com/celery/celery/issues/1307 asks for
this. Only the process that held them puts them back, once: a forked pool child inherits the list
and must not put back a message that has meanwhile been handed out again.

Installed for the `redis`, `rediss` and `sentinel` URL schemes by `install()` (workers/app.py),
before any connection is made. Remove this module when a kombu release fixes `Channel.close`.
"""

from __future__ import annotations

import os
from contextlib import suppress
from typing import TYPE_CHECKING

import structlog
from kombu import transport
from kombu.transport import redis as kombu_redis
from kombu.transport.virtual import Empty

log = structlog.get_logger(__name__)

# Delivery tags whose messages a closing channel could not put back, and the process that held
# them: that process's next channel puts them back. A worker's consumer runs in one thread.
_unrestored: dict[str, int] = {}


class QoS(kombu_redis.QoS):
    def restore_unacked(self, client=None):  # noqa: ANN001, ANN201 - kombu's signature
        try:
            return super().restore_unacked(client)
        except self.channel.connection_errors:
            _unrestored.update(dict.fromkeys(self._delivered, os.getpid()))
            log.warning("broker.restore_deferred", messages=len(self._delivered))
            self._delivered.clear()
            raise


if TYPE_CHECKING:  # what the type checker reads as the mixin's base: the kombu channel it is mixed into
    _Channel = kombu_redis.Channel
else:
    _Channel = object


class _Mended(_Channel):
    """Mixed into kombu's Redis channels (plain and Sentinel)."""

    QoS = QoS

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)  # pings Redis: a channel exists only with the server up
        if _unrestored:
            self._restore_deferred()

    def _restore_deferred(self) -> None:
        tags = [tag for tag, pid in _unrestored.items() if pid == os.getpid()]
        for tag in tags:
            self.qos.restore_by_tag(tag)  # a connection error here: Celery connects again, the rest wait
            del _unrestored[tag]
        if tags:
            log.info("broker.restored_after_reconnect", messages=len(tags))

    def close(self) -> None:
        if self._in_poll:
            with suppress(Empty, *self.connection_errors):
                self._brpop_read()  # resets _in_poll, so kombu's close does not read again
        super().close()


class Channel(_Mended, kombu_redis.Channel):
    pass


class SentinelChannel(_Mended, kombu_redis.SentinelChannel):
    pass


class Transport(kombu_redis.Transport):
    Channel = Channel


class SentinelTransport(kombu_redis.SentinelTransport):
    Channel = SentinelChannel


def install() -> None:
    """Make kombu use these transports for Redis URLs (its alias table: looked up when a connection is made)."""
    transport.TRANSPORT_ALIASES.update({
        "redis": f"{__name__}:Transport",
        "rediss": f"{__name__}:Transport",
        "sentinel": f"{__name__}:SentinelTransport",
    })
