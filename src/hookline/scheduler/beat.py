"""The beat scheduler: one leader among any number of beat processes, last runs kept in PostgreSQL.

Leadership is a Redis key (`hookline:beat:leader`) set with NX and a TTL and renewed by its
holder every third of the TTL; its value names the leader (host:pid), which is what
`hookline status` shows. A standby polls as often and takes the key once a dead leader's TTL
has run out. Only the leader sends; before each send it moves the entry's last run in
`beat_runs` with a compare-and-set, in the transaction that publishes, so even two processes
that both believe they lead (a leader paused past its TTL) send a run once. A leader (new or
restarted) starts from those last runs, so a tick missed while no beat ran is sent once,
as Celery's own schedules decide (`is_due` from the last run), not once per missed tick.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

import redis
import structlog
from celery.beat import ScheduleEntry, Scheduler
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from hookline.config import ConfigError, get_settings, redis_client_url
from hookline.db import global_session
from hookline.redis_clients import sync_client
from hookline.services import scheduling
from hookline.workers.logs import quiet

log = structlog.get_logger(__name__)

LEADER_KEY = "hookline:beat:leader"

# Renew if we hold it, else take it if nobody does: one atomic step, so two beats never both win.
_HOLD = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class LeaderLock:
    """A Redis lock with a TTL that its holder renews; `hold()` is both take and renew."""

    def __init__(self, client: redis.Redis, identity: str, ttl_seconds: float, key: str = LEADER_KEY) -> None:
        self.client, self.identity, self.key = client, identity, key
        self.ttl_ms = int(ttl_seconds * 1000)
        self.renew_every = ttl_seconds / 3  # two renewals may fail before the lock runs out

    def hold(self) -> bool:
        return bool(self.client.eval(_HOLD, 1, self.key, self.identity, self.ttl_ms))

    def release(self) -> None:
        self.client.eval(_RELEASE, 1, self.key, self.identity)


def current_leader(client: redis.Redis) -> str | None:
    """The leading beat's host:pid, or None when no beat leads (for `hookline status`)."""
    value = client.get(LEADER_KEY)
    return value.decode() if isinstance(value, bytes) else value


def leader_lock() -> LeaderLock:
    settings = get_settings()
    url = redis_client_url(settings)
    if url is None:
        raise ConfigError("beat's leader lock needs Redis: set HOOKLINE_REDIS_URL (the broker is not Redis)")
    client = sync_client(url, master=settings.redis_sentinel_master, socket_timeout=5)
    return LeaderLock(client, f"{socket.gethostname()}:{os.getpid()}", settings.beat_lock_ttl_seconds)


class LeaderScheduler(Scheduler):
    """Celery's Scheduler, sending only while it holds the leader lock (configured in workers/app.py)."""

    #: after PostgreSQL or the broker failed a send, wait this long before trying again
    retry_pause = 5.0

    def __init__(self, *args: Any, lock: LeaderLock | None = None, **kwargs: Any) -> None:
        self.lock = lock or leader_lock()
        self.leading = False
        self._seen: dict = {}  # entry name → its last run as stored in beat_runs (None: no row yet)
        self._paused_until = 0.0
        super().__init__(*args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        try:
            leading = self.lock.hold()  # renewed even while paused: a pause is not a reason to hand over
        except RedisError as exc:  # cannot prove we lead: send nothing
            log.error("beat.leader.redis_unavailable", error=repr(exc))
            leading = False
        pause = self._paused_until - time.monotonic()
        if pause > 0:
            self.leading = self.leading and leading
            return min(pause, self.lock.renew_every)
        if leading and not self.leading:
            try:
                self._adopt_last_runs()
            except SQLAlchemyError as exc:
                log.error("beat.last_runs_unavailable", error=repr(exc))
                self._paused_until = time.monotonic() + self.retry_pause
                return min(self.retry_pause, self.lock.renew_every)
            log.info("beat.leader.acquired", leader=self.lock.identity)
        elif self.leading and not leading:
            log.warning("beat.leader.lost", leader=self.lock.identity)
        self.leading = leading
        if not leading:
            return self.lock.renew_every
        return min(super().tick(*args, **kwargs), self.lock.renew_every)

    def _adopt_last_runs(self) -> None:
        """Start from what the beats recorded: the old leader's sends are not repeated, missed ones run once."""
        with global_session() as session:
            stored = scheduling.last_runs(session)
        for name, entry in self.schedule.items():
            if name in stored:
                entry.last_run_at = stored[name]
        self._seen = {name: stored.get(name) for name in self.schedule}
        self._heap = None  # Scheduler.tick rebuilds it from the entries' last runs

    def apply_entry(self, entry: ScheduleEntry, producer: Any = None) -> None:
        # Scheduler.tick has already advanced the entry (reserve); its new last run is the claim.
        now = self.schedule[entry.name].last_run_at
        try:
            with global_session() as session:
                if not scheduling.claim_beat_run(session, entry.name, seen=self._seen.get(entry.name), now=now,
                                                 by=self.lock.identity):
                    log.warning("beat.run_taken_by_another_beat", entry=entry.name)
                    self.leading = False  # adopt the other beat's record on the next tick
                    return
                self.apply_async(entry, producer=producer, advance=False)
        except Exception as exc:  # noqa: BLE001 - the claim rolled back with the failed send: try again soon
            log.error("beat.send_failed", entry=entry.name, error=repr(exc))
            self.schedule[entry.name] = entry
            self._heap = None
            self._paused_until = time.monotonic() + self.retry_pause
            return
        self._seen[entry.name] = now
        # Published and recorded (committed); a tick's sends only at debug (scheduler/schedule.py, TICK_EVENTS).
        (log.debug if quiet(self.app, entry.task) else log.info)("beat.sent", entry=entry.name, task=entry.task)

    def close(self) -> None:
        try:
            if self.leading:
                self.lock.release()  # a clean stop hands over at the standby's next poll, not after the TTL
        except RedisError as exc:  # the TTL releases it instead
            log.warning("beat.leader.release_failed", error=repr(exc))
        super().close()
