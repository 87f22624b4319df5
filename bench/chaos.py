"""Chaos: signed webhooks from 20 tenants while workers die, Redis restarts empty and PostgreSQL goes away.

    uv run python bench/chaos.py [--webhooks 1000] [--full]      (--full: 10,000 webhooks)

What runs, all on loopback:
  - a PRIVATE redis-server (no persistence) on a free port: the broker and the ingress's Redis.
    Restarting it loses every queued message. The shared Redis is never touched.
  - a new PostgreSQL database on the shared server, reached by every Hookline process through
    tests/support/tcpproxy.py, so "PostgreSQL goes away" is a cut proxy, not a stopped server.
  - `hookline web` and two Celery workers (ghl_sync, maintenance). Beat's two maintenance jobs
    (relay, sweeper) run in this process on the same functions, every 2 s, with the sweep age short.
The load: one signed GoHighLevel ContactCreate per webhook (a distinct contact each), from 20
tenants, by 16 senders that retry like GoHighLevel (same bytes, on 429 / 5xx / no answer).
Meanwhile, on a schedule: kill -9 a whole worker (then start it again), restart Redis, cut
PostgreSQL for 3 s. Afterwards the chaos stops and the relay and sweeper get time to finish;
a worker that `hookline worker-check`'s probe finds not consuming is restarted, as a healthcheck would.

It prints webhooks acknowledged, rows expected, rows present, duplicate effects, lost events and
dead letters, and exits 1 unless lost = 0 and duplicates = 0.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support import keys  # noqa: E402  (the test keys sign, the ingress gets their public half)
from tests.support.processes import free_port, wait_for  # noqa: E402
from tests.support.tcpproxy import TcpProxy  # noqa: E402

ADMIN_URL = os.environ.get("HOOKLINE_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_HOST, PG_PORT = os.environ.get("HOOKLINE_BENCH_PG_ADDRESS", "127.0.0.1:5432").split(":")
APP_ROLE = "hookline_bench_app"
BIN = Path(sys.executable).parent
TENANTS = 20
SWEEP_AFTER = 20  # seconds: short, so the run ends in minutes; production uses 600


def admin(sql: str, dbname: str = "postgres", url: str = ADMIN_URL) -> list[tuple]:
    with psycopg.connect(url, dbname=dbname, autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


class Process:
    """A command in its own process group, restartable, output appended to a log file."""

    def __init__(self, command: list[str], log: Path, env: dict[str, str], name: str = "") -> None:
        self.command, self.log, self.env, self.name, self.popen = command, log, env, name, None

    def start(self) -> Process:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(self.command, stdout=out, stderr=subprocess.STDOUT, env=self.env,
                                          start_new_session=True)
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()


class Chaos:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args, self.workdir = args, workdir
        self.database = f"hookline_chaos_{uuid.uuid4().hex[:10]}"
        self.redis_port = free_port()
        self.redis = Process(["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", str(workdir)], workdir / "redis.log", dict(os.environ))
        self.proxy = TcpProxy(PG_HOST, int(PG_PORT))
        self.acknowledged: set[int] = set()
        self.refused: dict[int, int] = {}
        self.lock = threading.Lock()
        self.sending = True
        self.log: list[str] = []
        self.admin_url = ADMIN_URL

    def query(self, sql: str) -> list[tuple]:
        """`sql` in the run's database, as the admin (past row-level security)."""
        return admin(sql, self.database, self.admin_url)

    # -- setup ------------------------------------------------------------------------------
    def setup(self) -> None:
        if not admin(f"SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}'"):
            admin(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS")
        admin(f"CREATE DATABASE {self.database} OWNER {APP_ROLE}")
        self.redis.start()
        wait_for(lambda: self._redis_up(), what="the private redis-server")
        self.proxy.start()
        pem = self.workdir / "ghl_ed25519.pem"
        pem.write_text(keys.ed25519_public_pem())
        self.env = {**os.environ,
                    "HOOKLINE_DATABASE_URL": f"postgresql://{APP_ROLE}@127.0.0.1:{self.proxy.port}/{self.database}",
                    "HOOKLINE_BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
                    "HOOKLINE_GHL_WEBHOOK_ED25519_PUBLIC_KEY": str(pem),
                    "HOOKLINE_TENANT_RATE_LIMIT": "0",
                    "HOOKLINE_REPLAY_WINDOW_SECONDS": "7200",  # a sender may retry for a while
                    "HOOKLINE_SWEEP_AFTER_SECONDS": str(SWEEP_AFTER),
                    # A real database: the ingress and workers refuse to start without keys (secrets_box).
                    "HOOKLINE_SECRET_KEYS": os.environ.get("HOOKLINE_SECRET_KEYS") or Fernet.generate_key().decode()}
        os.environ.update(self.env)  # this process runs the relay and the sweeper: settings are read once
        from hookline.db import global_session
        from hookline.migrate import upgrade
        from hookline.services.tenants import add_tenant

        upgrade(self.env["HOOKLINE_DATABASE_URL"])
        with global_session() as session:
            for index in range(TENANTS):
                add_tenant(session, f"Chaos Tenant {index:02d}", ghl_location_id=f"loc-chaos-{index:02d}")
        self.port = free_port()
        self.ingress_url = f"http://127.0.0.1:{self.port}"
        self.ingress = Process([str(BIN / "hookline"), "web"], self.workdir / "ingress.log",
                               {**self.env, "HOOKLINE_PORT": str(self.port)}).start()
        self.workers = [self._worker(index) for index in range(2)]
        wait_for(self._ingress_up, timeout=120, what="the ingress")

    def _worker(self, index: int) -> Process:
        name = f"chaos{index}@localhost"
        process = Process([str(BIN / "celery"), "-A", "hookline.workers.app", "worker", "-n", name, "-Q",
                           "ghl_sync,maintenance", "--concurrency", "2", "--without-mingle", "--without-gossip",
                           "--loglevel", "WARNING"], self.workdir / f"worker{index}.log", self.env, name)
        return process.start()

    def _redis_up(self) -> bool:
        import redis

        try:
            return redis.Redis(port=self.redis_port, socket_connect_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def _ingress_up(self) -> bool:
        try:
            return httpx.get(f"{self.ingress_url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    # -- load -------------------------------------------------------------------------------
    def body(self, index: int) -> bytes:
        fixture = json.loads((ROOT / "tests" / "fixtures" / "ghl" / "ContactCreate.json").read_text())
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        fixture.update(locationId=f"loc-chaos-{index % TENANTS:02d}", webhookId=f"wh-chaos-{index}",
                       id=f"ct-chaos-{index}", email=f"person{index}@example.com", timestamp=now)
        return json.dumps(fixture).encode()

    def headers(self, raw: bytes) -> dict[str, str]:
        return {"content-type": "application/json", "x-ghl-signature": keys.ed25519_signature(raw)}

    def send(self, client: httpx.Client, index: int) -> None:
        raw = self.body(index)
        headers = self.headers(raw)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            try:
                status = client.post(f"{self.ingress_url}/webhooks/ghl", content=raw, headers=headers).status_code
            except httpx.TransportError:
                status = 0
            if status in (200, 202):
                with self.lock:
                    self.acknowledged.add(index)
                return
            if status not in (0, 429) and status < 500:
                with self.lock:
                    self.refused[index] = status
                return
            time.sleep(random.uniform(0.3, 1.0))  # GoHighLevel waits minutes; the bench cannot

    # -- chaos ------------------------------------------------------------------------------
    def havoc(self) -> None:
        actions = itertools.cycle(["kill_worker", "restart_redis", "kill_worker", "cut_postgres"])
        while self.sending:
            time.sleep(self.args.interval)
            action = next(actions)
            if action == "kill_worker":
                worker = random.choice(self.workers)
                worker.kill(signal.SIGKILL)
                worker.start()
            elif action == "restart_redis":
                self.redis.kill(signal.SIGKILL)
                self.redis.start()
            else:
                self.proxy.stop()
                time.sleep(3)
                self.proxy.start()
            self.log.append(f"{time.strftime('%H:%M:%S')} {action}")

    def beat(self) -> None:
        """Beat's maintenance jobs, on the same functions, often: the relay and the sweeper."""
        from hookline.tasks.maintenance import relay_unpublished, sweep_stale

        while self.beating:
            for job in (lambda: relay_unpublished(older_than_seconds=10), sweep_stale):
                try:
                    job()
                except Exception as exc:  # noqa: BLE001 - Redis or PostgreSQL is down right now: the next round retries
                    self.log.append(f"{time.strftime('%H:%M:%S')} beat: {type(exc).__name__}")
            time.sleep(2)

    def restart_stuck_workers(self) -> None:
        from hookline.workers.liveness import WorkerUnhealthy, check

        for index, worker in enumerate(self.workers):
            try:
                check(worker.name, timeout=15)
            except WorkerUnhealthy as exc:
                self.log.append(f"{time.strftime('%H:%M:%S')} healthcheck: {exc}; restarting")
                worker.kill(signal.SIGKILL)
                self.workers[index] = self._worker(index)

    # -- the run ----------------------------------------------------------------------------
    def run(self) -> int:
        self.beating = True
        threading.Thread(target=self.beat, daemon=True).start()
        havoc = threading.Thread(target=self.havoc, daemon=True)
        havoc.start()
        started = time.monotonic()
        with httpx.Client(timeout=10) as client, ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda index: self.send(client, index), range(self.args.webhooks)))
        self.sending = False
        havoc.join()
        sent = time.monotonic() - started
        settle_until = time.monotonic() + self.args.settle
        last_check = time.monotonic()
        while time.monotonic() < settle_until and self.missing():
            if time.monotonic() - last_check > 30:
                self.restart_stuck_workers()
                last_check = time.monotonic()
            time.sleep(2)
        self.beating = False
        return self.report(sent)

    def present(self) -> set[int]:
        rows = self.query("SELECT external_id FROM contacts")
        return {int(external_id.removeprefix("ct-chaos-")) for (external_id,) in rows}

    def missing(self) -> int:
        """Acknowledged webhooks with no contact, not counting those whose event is in dead letters (failed)."""
        failed = {int(key.removeprefix("wh-chaos-")) for (key,) in
                  self.query("SELECT dedupe_key FROM webhook_events WHERE status = 'failed'")}
        return len(self.acknowledged - self.present() - failed)

    def report(self, sent: float) -> int:
        [(events, distinct_events, double_processed)] = self.query(
            "SELECT count(*), count(DISTINCT (tenant_id, dedupe_key)),"
            " count(*) FILTER (WHERE status = 'processed' AND attempts > 1) FROM webhook_events")
        [(contacts, distinct_contacts)] = self.query(
            "SELECT count(*), count(DISTINCT (tenant_id, external_id)) FROM contacts")
        [(dead,)] = self.query("SELECT count(*) FROM dead_letters")
        duplicates = (events - distinct_events) + (contacts - distinct_contacts) + double_processed
        lost = self.missing()
        for line in self.log:
            print(line)
        print(f"webhooks sent          {self.args.webhooks} in {sent:.0f} s from {TENANTS} tenants")
        print(f"acknowledged           {len(self.acknowledged)}" + (f" (refused: {self.refused})" if self.refused else ""))
        print(f"rows expected          {len(self.acknowledged)}")
        print(f"rows present           {contacts} contacts, {events} inbox events")
        print(f"duplicate effects      {duplicates}")
        print(f"lost                   {lost}")
        print(f"dead letters           {dead}")
        ok = lost == 0 and duplicates == 0 and len(self.acknowledged) == self.args.webhooks
        print("PASS" if ok else f"FAIL (logs in {self.workdir})")
        return 0 if ok else 1

    def teardown(self) -> None:
        for process in [getattr(self, "ingress", None), *getattr(self, "workers", [])]:
            if process is not None:
                process.kill(signal.SIGTERM)
        self.redis.kill(signal.SIGKILL)
        self.proxy.stop()
        from hookline.db import get_engine

        if get_engine.cache_info().currsize:
            get_engine().dispose()
        admin(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--webhooks", type=int, default=1000, help="how many webhooks to send (default 1000)")
    parser.add_argument("--full", action="store_const", const=10_000, dest="webhooks", help="send 10,000")
    parser.add_argument("--interval", type=float, default=4.0, help="seconds between acts of chaos")
    parser.add_argument("--settle", type=float, default=300.0, help="seconds allowed to finish after the load")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="hookline-chaos-"))
    chaos = Chaos(args, workdir)
    try:
        chaos.setup()
        return chaos.run()
    finally:
        chaos.teardown()


if __name__ == "__main__":
    sys.exit(main())
