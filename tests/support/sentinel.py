"""A Redis primary, a replica and three Sentinels as real processes on loopback ports (Debian's redis-server).

Every server and Sentinel asks for one password, so a client that reaches them through a
sentinel:// URL proves it carries the password to both. Sentinel notices a dead primary after
DOWN_AFTER_MS and promotes the replica; `restore()` brings the killed server back, and Sentinel
makes it a replica of the new primary, so that a later test finds a primary and a replica again.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import redis

from tests.support.processes import free_port, running, wait_for

MASTER = "hookline-test"
PASSWORD = "sentinel-test-pw"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 3000


class SentinelCluster:
    def __init__(self, directory: Path, stack: ExitStack) -> None:
        self.directory, self.stack = directory, stack
        self.redis_ports = [free_port(), free_port()]
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.processes: dict[int, subprocess.Popen] = {}

    def url(self, db: int = 0) -> str:
        """The sentinel:// URL of the three Sentinels (kombu's spelling), with the password."""
        return ";".join(f"sentinel://:{PASSWORD}@127.0.0.1:{port}/{db}" for port in self.sentinel_ports)

    def env(self, db: int = 0) -> dict[str, str]:
        """The settings a Hookline process needs for this cluster as broker and Redis."""
        return {"HOOKLINE_BROKER_URL": self.url(db), "HOOKLINE_REDIS_SENTINEL_MASTER": MASTER}

    def node(self, port: int, db: int = 0) -> redis.Redis:
        return redis.Redis(port=port, db=db, password=PASSWORD, socket_timeout=2, socket_connect_timeout=2)

    def primary_port(self) -> int:
        """The primary's port as the first Sentinel that answers sees it."""
        for port in self.sentinel_ports:
            try:
                _, primary = self.node(port).execute_command("SENTINEL", "get-master-addr-by-name", MASTER)
                return int(primary)
            except redis.ConnectionError:
                continue
        raise RuntimeError("no Sentinel answers")

    def start(self) -> None:
        primary, replica = self.redis_ports
        self._redis(primary)
        self._redis(replica, "--replicaof", "127.0.0.1", str(primary))
        wait_for(lambda: self._replicating(replica), timeout=20, what="the replica to sync")
        for port in self.sentinel_ports:
            self._sentinel(port, primary)
        wait_for(lambda: self._all_sentinels_see(primary), timeout=20, what="the Sentinels to know each other")

    def kill_primary(self) -> int:
        """SIGKILL the primary (its whole process group); its port."""
        port = self.primary_port()
        process = self.processes.pop(port)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        return port

    def wait_for_failover(self, old: int, timeout: float = 30) -> int:
        """Wait until every Sentinel names a new primary that answers as master; its port."""
        def promoted() -> int | None:
            port = self.primary_port()
            if port == old or not self._all_sentinels_see(port):
                return None
            return port if self.node(port).info("replication")["role"] == "master" else None

        return wait_for(promoted, timeout=timeout, what="Sentinel to promote the replica")

    def restore(self, port: int, timeout: float = 90) -> None:
        """Start the killed server `port` again, empty; Sentinel turns it into the new primary's replica.

        Sentinel converts a returned primary only once it has answered, not down, for four publish
        periods (8 s) and its Sentinels agree; on a loaded CI machine that took over 30 s once."""
        self._redis(port)
        wait_for(lambda: self._replicating(port), timeout=timeout, what=f"redis {port} to rejoin as a replica")

    def _redis(self, port: int, *extra: str) -> None:
        command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                   "--dir", str(self.directory), "--requirepass", PASSWORD, "--masterauth", PASSWORD, *extra]
        self._run(port, command, f"redis-{port}")
        wait_for(lambda: self._answers(port), timeout=20, what=f"redis on {port}")

    def _sentinel(self, port: int, primary: int) -> None:
        config = self.directory / f"sentinel-{port}.conf"  # Sentinel rewrites its file: one each
        config.write_text("\n".join([
            f"port {port}", "bind 127.0.0.1", f"dir {self.directory}", f"requirepass {PASSWORD}",
            f"sentinel monitor {MASTER} 127.0.0.1 {primary} 2",
            f"sentinel auth-pass {MASTER} {PASSWORD}",
            f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}",
            f"sentinel failover-timeout {MASTER} {FAILOVER_TIMEOUT_MS}",
            f"sentinel parallel-syncs {MASTER} 1", "",
        ]))
        self._run(port, ["redis-server", str(config), "--sentinel"], f"sentinel-{port}")
        wait_for(lambda: self._answers(port), timeout=20, what=f"sentinel on {port}")

    def _run(self, port: int, command: list[str], name: str) -> None:
        self.processes[port] = self.stack.enter_context(running(command, log=self.directory / f"{name}.log"))

    def _answers(self, port: int) -> bool:
        try:
            return bool(self.node(port).ping())
        except redis.RedisError:
            return False

    def _replicating(self, port: int) -> bool:
        try:
            info = self.node(port).info("replication")
        except redis.RedisError:
            return False
        return info["role"] == "slave" and info.get("master_link_status") == "up"

    def _all_sentinels_see(self, primary: int) -> bool:
        """Every Sentinel names `primary` and knows the two others (a failover needs a majority)."""
        for port in self.sentinel_ports:
            try:
                node = self.node(port)
                master = node.execute_command("SENTINEL", "master", MASTER)
            except redis.RedisError:
                return False
            fields = dict(zip(master[::2], master[1::2], strict=True)) if isinstance(master, list) else master
            fields = {_text(key): _text(value) for key, value in fields.items()}
            if int(fields["port"]) != primary or int(fields["num-other-sentinels"]) < 2:
                return False
        return True


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@contextmanager
def sentinel_cluster(directory: Path) -> Iterator[SentinelCluster]:
    with ExitStack() as stack:
        cluster = SentinelCluster(directory, stack)
        cluster.start()
        yield cluster


@pytest.fixture(scope="session")
def sentinels(tmp_path_factory) -> Iterator[SentinelCluster]:
    """One cluster for the session; a test that kills its primary calls `restore` before it ends."""
    with sentinel_cluster(tmp_path_factory.mktemp("sentinel")) as cluster:
        yield cluster
