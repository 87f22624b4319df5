"""Hookline across five hosts, built in network namespaces on this machine, while hosts die.

    uv run python bench/cluster.py [--webhooks 10000] [--partition 60]      (needs root: ip netns)

The hosts (each a network namespace on one bridge, 10.231.0.0/24, nothing routed beyond it):
  db      10.231.0.2  a PostgreSQL of its own (initdb in the run's folder) behind PgBouncer in
                      transaction mode; every Hookline process connects through PgBouncer
  broker  10.231.0.3  a Redis primary and its replica, with three Sentinels: the broker, and
                      HOOKLINE_REDIS_URL (beat's leader lock, rate limits, fairness)
  ingress 10.231.0.4  `hookline web`
  w1, w2  10.231.0.5-6  each the three worker groups of the Procfile and a beat
The bench itself sits in the root namespace on the bridge (10.231.0.1): it posts, and it reads
PostgreSQL directly to count.

First it measures the end-to-end rate (POST → committed contact) with one worker host, then with
two. Then it posts --webhooks signed GoHighLevel ContactCreates from 20 tenants, paced to last
about --load-seconds, and meanwhile, on a schedule:
  - SIGKILLs every process of one worker host at once (its processes come back 10 s later, as a
    host restart would bring them);
  - cuts the other worker host off the network for --partition seconds, then heals it;
  - SIGKILLs the Redis primary, so that Sentinel promotes the replica (the old primary comes
    back later and Sentinel makes it a replica);
  - SIGKILLs every process of the host whose beat leads, and brings them back 10 s later.
It prints webhooks acknowledged, rows present, lost, duplicate effects and dead letters, and exits
1 unless lost = 0 and duplicates = 0. Logs stay in the run's folder when it fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from chaos import BIN, TENANTS, Chaos, Process, admin  # bench/ is this script's folder
from tests.support import keys
from tests.support.processes import wait_for

PG_BIN = Path(os.environ.get("HOOKLINE_BENCH_PG_BIN", f"/usr/lib/postgresql/{sorted(os.listdir('/usr/lib/postgresql'))[-1]}/bin"))
SUBNET = "10.231.0"
BRIDGE = "hlc0"
HOSTS = {"db": 2, "broker": 3, "ingress": 4, "w1": 5, "w2": 6}
APP_ROLE = "hookline_app"
DATABASE = "hookline"
MASTER = "mymaster"
SENTINEL_PORTS = (26379, 26380, 26381)
WARM_UP = 50  # webhooks sent and applied before a rate is measured
WORKER_GROUPS = {  # the Procfile's three groups, with names that say the host
    "sync": ["-Q", "webhooks,ghl_sync,reonic_sync", "--concurrency", "2"],
    "io": ["-Q", "email,audio_upload", "--concurrency", "1", "--prefetch-multiplier", "1"],
    "batch": ["-Q", "dunning,reports,maintenance", "--concurrency", "1", "--prefetch-multiplier", "1"],
}


def sh(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=30)


def address(host: str) -> str:
    return f"{SUBNET}.{HOSTS[host]}"


class Network:
    """A bridge in the root namespace and one namespace per host, each on a veth pair."""

    def up(self) -> None:
        self.down()
        sh("ip", "link", "add", BRIDGE, "type", "bridge")
        sh("ip", "addr", "add", f"{SUBNET}.1/24", "dev", BRIDGE)
        sh("ip", "link", "set", BRIDGE, "up")
        for host in HOSTS:
            namespace, outside = f"hlc-{host}", f"hlc-{host}-o"
            sh("ip", "netns", "add", namespace)
            sh("ip", "link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", namespace)
            sh("ip", "link", "set", outside, "master", BRIDGE)
            sh("ip", "link", "set", outside, "up")
            sh("ip", "netns", "exec", namespace, "ip", "addr", "add", f"{address(host)}/24", "dev", "eth0")
            sh("ip", "netns", "exec", namespace, "ip", "link", "set", "eth0", "up")
            sh("ip", "netns", "exec", namespace, "ip", "link", "set", "lo", "up")

    def cut(self, host: str, up: bool) -> None:
        """The host's cable: pulled (packets dropped, connections stall) or plugged back."""
        sh("ip", "link", "set", f"hlc-{host}-o", "up" if up else "down")

    def down(self) -> None:
        for host in HOSTS:
            subprocess.run(["ip", "netns", "del", f"hlc-{host}"], capture_output=True, timeout=30)
            subprocess.run(["ip", "link", "del", f"hlc-{host}-o"], capture_output=True, timeout=30)
        subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True, timeout=30)


def on(host: str, command: list[str], *, user: str | None = None) -> list[str]:
    prefix = ["ip", "netns", "exec", f"hlc-{host}"]
    return prefix + (["runuser", "-u", user, "--"] if user else []) + command


class Cluster(Chaos):
    """bench/chaos.py's load and counting, over hosts instead of processes on loopback."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        super().__init__(args, workdir)
        self.database = DATABASE
        self.admin_url = f"postgresql://postgres@{address('db')}:5432/postgres"
        self.network = Network()
        self.hosts: dict[str, list[Process]] = {host: [] for host in HOSTS}
        self.redis_nodes: dict[int, Process] = {}
        self.ingress_url = f"http://{address('ingress')}:8000"

    # -- setup ------------------------------------------------------------------------------
    def start(self, host: str, name: str, command: list[str], *, user: str | None = None,
              env: dict[str, str] | None = None) -> Process:
        process = Process(on(host, command, user=user), self.workdir / f"{host}-{name}.log",
                          env or dict(os.environ), name).start()
        self.hosts[host].append(process)
        return process

    def setup(self) -> None:
        self.workdir.chmod(0o755)  # PostgreSQL and PgBouncer run as `postgres` and write here
        self.network.up()
        self._database_host()
        self._broker_host()
        sentinels = ";".join(f"sentinel://{address('broker')}:{port}" for port in SENTINEL_PORTS)
        self.env = {**os.environ,
                    "HOOKLINE_DATABASE_URL": f"postgresql://{APP_ROLE}@{address('db')}:6432/{DATABASE}",
                    "HOOKLINE_DATABASE_PREPARED_STATEMENTS": "false",  # PgBouncer 1.18 in transaction mode
                    "HOOKLINE_BROKER_URL": sentinels,
                    "HOOKLINE_REDIS_URL": sentinels,
                    "HOOKLINE_REDIS_SENTINEL_MASTER": MASTER,
                    "HOOKLINE_SECRET_KEYS": Fernet.generate_key().decode(),  # one set for every host
                    "HOOKLINE_GHL_WEBHOOK_ED25519_PUBLIC_KEY": keys.ed25519_public_pem(),
                    "HOOKLINE_TENANT_RATE_LIMIT": "0",
                    "HOOKLINE_REPLAY_WINDOW_SECONDS": "7200",
                    "HOOKLINE_SWEEP_AFTER_SECONDS": str(self.args.sweep_after),
                    "HOOKLINE_BEAT_LOCK_TTL_SECONDS": "9"}
        migrate = {**self.env, "HOOKLINE_DATABASE_URL": f"postgresql://{APP_ROLE}@{address('db')}:5432/{DATABASE}"}
        subprocess.run([str(BIN / "hookline"), "db", "upgrade"], env=migrate, check=True, timeout=300,
                       capture_output=True)
        os.environ.update(migrate)  # this process adds the tenants, past PgBouncer, then only counts
        from hookline.db import get_engine, global_session
        from hookline.services.tenants import add_tenant

        with global_session() as session:
            for index in range(TENANTS):
                add_tenant(session, f"Cluster Tenant {index:02d}", ghl_location_id=f"loc-chaos-{index:02d}")
        get_engine().dispose()
        self.start("ingress", "web", [str(BIN / "hookline"), "web"],
                   env={**self.env, "HOOKLINE_HOST": address("ingress"), "HOOKLINE_PORT": "8000",
                        "HOOKLINE_VAR_DIR": str(self.workdir / "ingress-var")})
        wait_for(self._ingress_up, timeout=120, what="the ingress")

    def _database_host(self) -> None:
        data = self.workdir / "pgdata"
        data.mkdir()
        shutil.chown(data, "postgres", "postgres")
        subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust",
                        "-U", "postgres"], check=True, capture_output=True, timeout=120)
        with (data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {SUBNET}.0/24 trust\n")  # the cluster's own hosts only
        self.start("db", "postgres", [str(PG_BIN / "postgres"), "-D", str(data), "-c", f"listen_addresses={address('db')}",
                                      "-c", f"unix_socket_directories={data}", "-c", "max_connections=200",
                                      "-c", "fsync=off"], user="postgres")  # no host loses power here
        wait_for(lambda: self._answers(self.admin_url), timeout=60, what="PostgreSQL on the db host")
        admin(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS", url=self.admin_url)
        admin(f"CREATE DATABASE {DATABASE} OWNER {APP_ROLE}", url=self.admin_url)
        ini = self.workdir / "pgbouncer.ini"
        users = self.workdir / "userlist.txt"
        users.write_text(f'"{APP_ROLE}" ""\n"postgres" ""\n')
        ini.write_text(f"""[databases]
* = host={address('db')} port=5432

[pgbouncer]
listen_addr = {address('db')}
listen_port = 6432
unix_socket_dir =
auth_type = trust
auth_file = {users}
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 40
""")
        self.start("db", "pgbouncer", ["pgbouncer", str(ini)], user="postgres")
        wait_for(lambda: self._answers(f"postgresql://{APP_ROLE}@{address('db')}:6432/{DATABASE}"),
                 timeout=30, what="PgBouncer on the db host")

    @staticmethod
    def _answers(url: str) -> bool:
        import psycopg

        try:
            with psycopg.connect(url, connect_timeout=1, prepare_threshold=None) as conn:
                return conn.execute("SELECT 1").fetchone() == (1,)
        except psycopg.Error:
            return False

    def _broker_host(self) -> None:
        self._redis_node(6379)
        self._redis_node(6380, replica_of=6379)
        for port in SENTINEL_PORTS:
            config = self.workdir / f"sentinel-{port}.conf"
            config.write_text(f"port {port}\nbind {address('broker')}\ndir {self.workdir}\n"
                              f"sentinel monitor {MASTER} {address('broker')} 6379 2\n"
                              f"sentinel down-after-milliseconds {MASTER} 2000\n"
                              f"sentinel failover-timeout {MASTER} 10000\n"
                              f"sentinel parallel-syncs {MASTER} 1\n")
            self.start("broker", f"sentinel-{port}", ["redis-server", str(config), "--sentinel"])
        wait_for(lambda: self._sentinels_agree(), timeout=60, what="three Sentinels that see the replica")

    def _redis_node(self, port: int, replica_of: int | None = None) -> None:
        command = ["redis-server", "--port", str(port), "--bind", address("broker"), "--save", "",
                   "--appendonly", "no", "--dir", str(self.workdir), "--dbfilename", f"redis-{port}.rdb"]
        if replica_of:
            command += ["--replicaof", address("broker"), str(replica_of)]
        self.redis_nodes[port] = self.start("broker", f"redis-{port}", command)

    def _sentinels_agree(self) -> bool:
        import redis

        try:
            return all(redis.Redis(host=address("broker"), port=port, socket_timeout=1).sentinel_master(MASTER)
                       ["num-slaves"] >= 1 for port in SENTINEL_PORTS)
        except redis.RedisError:
            return False

    def worker_host(self, host: str) -> None:
        env = {**self.env, "HOOKLINE_VAR_DIR": str(self.workdir / f"{host}-var")}
        for group, options in WORKER_GROUPS.items():
            self.start(host, group, [str(BIN / "celery"), "-A", "hookline.workers.app", "worker", "-n",
                                     f"{group}@{host}", *options, "--without-mingle", "--without-gossip",
                                     "--loglevel", "WARNING"], env=env)
        self.start(host, "beat", [str(BIN / "celery"), "-A", "hookline.workers.app", "beat", "--loglevel", "INFO"],
                   env=env)

    def wait_ready(self, host: str) -> None:
        """Until the host's three workers answer a ping (through the Sentinels, as they consume)."""
        from hookline.workers.app import app  # this process's environment names the cluster's broker

        names = [f"{group}@{host}" for group in WORKER_GROUPS]
        wait_for(lambda: len(app.control.ping(destination=names, timeout=1)) == len(names), timeout=180,
                 what=f"the workers of {host}")

    def kill_host(self, host: str) -> None:
        for process in self.hosts[host]:
            process.kill(signal.SIGKILL)
        self.hosts[host] = []

    def headers(self, raw: bytes) -> dict[str, str]:
        return {"content-type": "application/json", "x-ghl-signature": keys.ed25519_signature(raw)}

    # -- measuring ----------------------------------------------------------------------------
    def rate(self, first: int, count: int) -> float:
        """Webhooks per second from the first POST to the last committed contact, no chaos; after a
        warm-up of WARM_UP webhooks (the first tasks of a worker process pay for its imports)."""
        self._post_and_wait(first, WARM_UP)
        started = time.monotonic()
        self._post_and_wait(first + WARM_UP, count - WARM_UP)
        return (count - WARM_UP) / (time.monotonic() - started)

    def _post_and_wait(self, first: int, count: int) -> None:
        with httpx.Client(timeout=10) as client, ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda index: self.send(client, index), range(first, first + count)))
        wanted = set(range(first, first + count))
        wait_for(lambda: wanted <= self.present(), timeout=600, what=f"{count} contacts")

    def paced_load(self, first: int, count: int) -> None:
        pace = self.args.load_seconds / count
        started = time.monotonic()
        with httpx.Client(timeout=10) as client, ThreadPoolExecutor(32) as pool:
            for index in range(first, first + count):
                delay = started + (index - first) * pace - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(self.send, client, index)

    # -- chaos ------------------------------------------------------------------------------
    def leader_host(self) -> str | None:
        import redis
        from redis.sentinel import Sentinel

        try:
            sentinel = Sentinel([(address("broker"), port) for port in SENTINEL_PORTS], socket_timeout=1)
            value = sentinel.master_for(MASTER, socket_timeout=1).get("hookline:beat:leader")
        except redis.RedisError:
            return None
        pid = int(value.decode().rsplit(":", 1)[-1]) if value else None
        for host in ("w1", "w2"):
            if any(process.popen.pid == pid for process in self.hosts[host]):
                return host
        return None

    def schedule(self) -> None:
        a = self.args
        partition_end = a.start_at + 15 + a.partition
        acts = [(a.start_at, "kill worker host w1", self._kill_and_restart, "w1"),
                (a.start_at + 15, f"cut w2 off the network for {a.partition:.0f} s", self._partition, "w2"),
                (a.start_at + 25, "kill the Redis primary", self._kill_primary, None),
                (partition_end + 10, "kill the beat leader's host", self._kill_leader_host, None)]
        started = time.monotonic()
        threads = []
        for at, what, act, host in acts:
            time.sleep(max(0.0, started + at - time.monotonic()))
            self.log.append(f"{time.strftime('%H:%M:%S')} {what}")
            thread = threading.Thread(target=act, args=(host,) if host else (), daemon=True)
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join()

    def _kill_and_restart(self, host: str) -> None:
        self.kill_host(host)
        time.sleep(10)
        self.worker_host(host)
        self.log.append(f"{time.strftime('%H:%M:%S')} {host} is back")

    def _partition(self, host: str) -> None:
        self.network.cut(host, up=False)
        time.sleep(self.args.partition)
        self.network.cut(host, up=True)
        self.log.append(f"{time.strftime('%H:%M:%S')} {host} is reachable again")

    def _kill_primary(self) -> None:
        old = self._master_port()
        self.redis_nodes[old].kill(signal.SIGKILL)
        wait_for(lambda: self._master_port() not in (None, old), timeout=60, what="Sentinel's failover")
        self.log.append(f"{time.strftime('%H:%M:%S')} Sentinel promoted :{self._master_port()}")
        time.sleep(5)
        self._redis_node(old)  # back as a primary of nothing; Sentinel turns it into a replica

    def _master_port(self) -> int | None:
        import redis

        try:
            _, port = redis.Redis(host=address("broker"), port=SENTINEL_PORTS[0],
                                  socket_timeout=1).sentinel_get_master_addr_by_name(MASTER)
            return int(port)
        except (redis.RedisError, TypeError):
            return None

    def _kill_leader_host(self) -> None:
        host = None
        for _ in range(30):
            host = self.leader_host()
            if host:
                break
            time.sleep(1)
        if host is None:
            self.log.append(f"{time.strftime('%H:%M:%S')} no beat leader found to kill")
            return
        self.log.append(f"{time.strftime('%H:%M:%S')} the beat leader is on {host}")
        self._kill_and_restart(host)

    # -- the run ----------------------------------------------------------------------------
    def run(self) -> int:
        measure = self.args.measure
        self.worker_host("w1")
        self.wait_ready("w1")
        one = self.rate(self.args.webhooks, measure)
        self.worker_host("w2")
        self.wait_ready("w2")
        two = self.rate(self.args.webhooks + measure, measure)
        self.acknowledged -= set(range(self.args.webhooks, self.args.webhooks + 2 * measure))
        self.query(f"DELETE FROM contacts WHERE external_id IN "
                   f"({', '.join(repr(f'ct-chaos-{i}') for i in range(self.args.webhooks, self.args.webhooks + 2 * measure))})")
        self.query("DELETE FROM webhook_events WHERE dedupe_key IN "
                   f"({', '.join(repr(f'wh-chaos-{i}') for i in range(self.args.webhooks, self.args.webhooks + 2 * measure))})")
        chaos = threading.Thread(target=self.schedule, daemon=True)
        started = time.monotonic()
        chaos.start()
        self.paced_load(0, self.args.webhooks)
        sent = time.monotonic() - started
        chaos.join()
        settle_until = time.monotonic() + self.args.settle
        while time.monotonic() < settle_until and self.missing():
            time.sleep(2)
        print(f"end to end, 1 worker host  {one:.0f} webhooks/s ({measure - WARM_UP} webhooks after {WARM_UP}, no chaos)")
        print(f"end to end, 2 worker hosts {two:.0f} webhooks/s ({measure - WARM_UP} webhooks after {WARM_UP}, no chaos; "
              f"{os.cpu_count()} cores under all five hosts)")
        return self.report(sent)

    def teardown(self) -> None:
        for host in HOSTS:
            self.kill_host(host)
        self.network.down()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--webhooks", type=int, default=10_000, help="webhooks posted during the chaos")
    parser.add_argument("--load-seconds", type=float, default=150.0, help="the load is paced to last this long")
    parser.add_argument("--measure", type=int, default=1000, help="webhooks of each rate measurement")
    parser.add_argument("--partition", type=float, default=60.0, help="seconds a worker host is cut off")
    parser.add_argument("--start-at", type=float, default=10.0, help="seconds into the load of the first act")
    parser.add_argument("--sweep-after", type=int, default=20, help="HOOKLINE_SWEEP_AFTER_SECONDS for the run")
    parser.add_argument("--settle", type=float, default=600.0, help="seconds allowed to finish after the load")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    if os.geteuid() != 0:
        print("bench/cluster.py builds network namespaces: run it as root", file=sys.stderr)
        return 2
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="hookline-cluster-"))
    cluster = Cluster(args, workdir)
    code = 1
    try:
        cluster.setup()
        code = cluster.run()
        return code
    finally:
        cluster.teardown()
        if code == 0:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"logs: {workdir}")


if __name__ == "__main__":
    sys.exit(main())
