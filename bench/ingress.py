"""Benchmark the webhook ingress against two reference endpoints, in one run on this machine.

    uv run python bench/ingress.py [--duration 15] [--connections 64] [--only real] [--sentinel]
    uv run python bench/ingress.py --only raw --only real --only workers2 --rounds 2

(`uv run --group bench …` adds py-spy, for `--profile`.)

Servers, one at a time, each `uvicorn --workers N` on a free loopback port:
  bare          bench/reference_apps.py:bare, answers 202 and nothing else
  raw durable   bench/reference_apps.py:durable, one async INSERT + one Redis LPUSH, then 202
  real ingress  hookline.ingress.app:create_app, POST /webhooks/ghl as GoHighLevel sends it
  via Sentinel  (--sentinel) the real ingress again, its broker a sentinel:// URL: a primary, a
                replica and three Sentinels started for the run (tests/support/sentinel.py),
                whose primary every server then uses directly (redis://) too
Only when named with --only (so one run compares it with the real ingress; `--rounds 2`
interleaves them twice):
  workers2      the real ingress as uvicorn --workers 2: two event loops

Every request is a distinct ContactCreate with its own webhookId, Ed25519-signed like GoHighLevel's
(bench/signed.py), because the ingress dedupes by webhookId. Two kinds of load:
  - maximum throughput: wrk (Debian's package), closed loop, C connections, after a warm-up;
  - latency at a set load (half the raw durable's maximum): wrk too, open loop in wrk2's way
    (wrk2 itself is packaged neither in Debian nor on PyPI/npm) through bench/fixed_rate.lua: one
    lane a connection, each with its own wrk thread, every request with a scheduled time and its
    latency counted from then, so a stalled server is not hidden by the generator waiting for it.
    It prints its own lag too (how late it sent when free to: its timers tick in ms).
The machine is small and noisy (2 cores shared by wrk, uvicorn, PostgreSQL and Redis): read the
figures as ratios within one run. It prints PASS/MISS against the targets; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import httpx
import psycopg
import redis
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support.sentinel: the test suite's cluster
import loadgen  # bench/ is this script's folder, so its siblings import by name
from servers import Server, service_cpu_seconds
from signed import LOCATION_ID, signed_requests
from tests.support.sentinel import MASTER, PASSWORD, sentinel_cluster

ADMIN_URL = os.environ.get("HOOKLINE_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_HOST = os.environ.get("HOOKLINE_BENCH_PG_HOST", "127.0.0.1:5432")
REDIS_URL = os.environ.get("HOOKLINE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
# Like the tests: the servers connect as a role that row-level security binds, as in production.
APP_ROLE = "hookline_bench_app"
BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
INGRESS_APP = ["hookline.ingress.app:create_app", "--factory"]
SERVERS = {  # name: (label, uvicorn app and flags)
    "bare": ("bare", ["reference_apps:bare", "--app-dir", str(BENCH_DIR)]),
    "raw": ("raw durable", ["reference_apps:durable", "--app-dir", str(BENCH_DIR)]),
    "real": ("real ingress", INGRESS_APP),
    "sentinel": ("via Sentinel", INGRESS_APP),
    "workers2": ("2 workers", INGRESS_APP),
}
DEFAULT_SERVERS = ("bare", "raw", "real", "sentinel")  # what runs without --only
# The real ingress run with its own number of uvicorn workers (the others use --workers).
WORKERS = {"workers2": 2}
INGRESSES = ("real", "sentinel", *WORKERS)
TARGET_RATIO, TARGET_P99 = 0.9, 0.025  # issue 22 (it was 0.7 before)
# The per-tenant rate limit stays on (its Redis round trip is part of the real path) but can never
# trip: the bench's one tenant sends far more than a real one would.
INGRESS_SETTINGS = {"HOOKLINE_TENANT_RATE_LIMIT": "1000000000"}


def secret_keys() -> str:
    """HOOKLINE_SECRET_KEYS for the bench's processes, which refuse to start without (the bench's
    connections hold no sealed secret): the environment's, else a new key."""
    return os.environ.get("HOOKLINE_SECRET_KEYS") or Fernet.generate_key().decode()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds of each measured run (15)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of wrk before each measured run (3)")
    parser.add_argument("--connections", type=int, default=64, help="concurrent connections (64)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1: the server needs the other core)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes per server (1)")
    parser.add_argument("--requests", type=int, default=200_000, help="distinct signed webhooks to cycle through")
    parser.add_argument("--only", action="append", choices=list(SERVERS),
                        help="run only this server (repeatable; workers2 runs only when named)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure the servers this many times, interleaved (1); the fixed rate stays round 1's")
    parser.add_argument("--rate", type=float, help="fixed rate of the latency runs (default: half raw durable's max)")
    parser.add_argument("--sentinel", action="store_true",
                        help="start a Redis primary, replica and three Sentinels; run the ingress through them too")
    parser.add_argument("--profile", action="store_true",
                        help="sample each server with py-spy during its max and fixed-rate runs (collapsed stacks in the log folder)")
    return parser.parse_args()


def admin(sql: str, params: tuple = (), dbname: str = "postgres") -> list[tuple]:
    with psycopg.connect(ADMIN_URL, dbname=dbname, autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def own_broker_db() -> redis.Redis:
    """The bench's Redis db, flushed; refused while another client uses it (another bench's
    worker would take this run's tasks, and this run's flush would drop that one's)."""
    broker = redis.Redis.from_url(REDIS_URL)
    db = broker.connection_pool.connection_kwargs.get("db", 0)
    me = broker.client_id()
    others = [client for client in broker.client_list() if int(client["db"]) == db and int(client["id"]) != me]
    if others:
        sys.exit(f"Redis db {db} of {REDIS_URL} is in use by {len(others)} other client(s) ({others[0]['addr']}, "
                 f"{others[0].get('name') or 'unnamed'}): another bench is running? Wait for it, or set "
                 "HOOKLINE_BENCH_REDIS_URL to a db of its own.")
    broker.flushdb()
    return broker


def create_database() -> tuple[str, str]:
    """A new database owned by the app role, migrated, with the raw table and one tenant."""
    name = f"hookline_bench_{uuid.uuid4().hex[:10]}"
    if not admin("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)):
        admin(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS")
    admin(f"CREATE DATABASE {name} OWNER {APP_ROLE}")
    url = f"postgresql://{APP_ROLE}@{PG_HOST}/{name}"
    os.environ.update(HOOKLINE_DATABASE_URL=url, HOOKLINE_BROKER_URL=REDIS_URL)
    from hookline.db import get_engine, global_session  # after the environment: settings are read once
    from hookline.migrate import upgrade
    from hookline.services.tenants import add_tenant

    upgrade(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_raw (id bigserial PRIMARY KEY, body jsonb NOT NULL)")
    with global_session() as session:
        add_tenant(session, "Bench Solar", ghl_location_id=LOCATION_ID)
    get_engine().dispose()
    return name, url


def inbox_metrics(url: str) -> dict[str, float]:
    """The inbox's and the publisher's own metrics so far (Prometheus sums and counts)."""
    figures: dict[str, float] = {}
    for line in httpx.get(f"{url}/metrics", timeout=5).text.splitlines():
        name, _, value = line.partition(" ")
        if name.startswith(("hookline_ingress_inbox_batch_rows_", "hookline_ingress_inbox_insert_seconds_",
                            "hookline_ingress_publish_batch_jobs_")):
            figures[name] = float(value)
    return figures


def inbox_figures(url: str, before: dict[str, float] | None = None) -> str:
    """Inbox statements, rows per statement, a row's wait until committed, and publish batches, since `before`."""
    now = inbox_metrics(url)
    figures = {name: value - (before or {}).get(name, 0) for name, value in now.items()}
    statements = figures.get("hookline_ingress_inbox_batch_rows_count", 0)
    rows, waits = figures.get("hookline_ingress_inbox_batch_rows_sum", 0), figures.get(
        "hookline_ingress_inbox_insert_seconds_count", 0)
    wait = figures.get("hookline_ingress_inbox_insert_seconds_sum", 0) / max(waits, 1)
    batches, jobs = (figures.get(f"hookline_ingress_publish_batch_jobs_{part}", 0) for part in ("count", "sum"))
    return (f"{statements:.0f} inbox statements, {rows / max(statements, 1):.1f} rows each, "
            f"{wait * 1000:.1f} ms mean wait for a row's commit; {batches:.0f} publish batches, "
            f"{jobs / max(batches, 1):.1f} events each")


def settled_count(database: str, table: str) -> int:
    """Rows in `table` (as the superuser, past row-level security) once no more are arriving."""
    previous = -1
    for _ in range(40):
        count = admin(f"SELECT count(*) FROM {table}", dbname=database)[0][0]
        if count == previous:
            return count
        previous = count
        time.sleep(0.25)
    return count


def cpu_so_far(server: Server) -> tuple[tuple[float, float], dict[str, float]]:
    return server.cpu_seconds(), service_cpu_seconds()


def cpu_used(server: Server, before: tuple[tuple[float, float], dict[str, float]],
             run: loadgen.Run) -> tuple[str, float]:
    """The CPU each process used over the run, as a share of one core (wrk's own over its whole run), and
    the server's CPU seconds per 2xx answer: steadier than a rate when other work shares the machine."""
    own, children = ((now - then) / run.seconds for now, then in zip(server.cpu_seconds(), before[0], strict=True))
    services = {name: (seconds - before[1][name]) / run.seconds for name, seconds in service_cpu_seconds().items()}
    per_answer = (own + children) / max(run.accepted_per_second, 1e-9)
    # With --workers 1 the server's own process runs the event loop (and has no children).
    # With --workers 2 the own process is uvicorn's supervisor and the children are the two workers.
    return (f"CPU (of a core): server {own + children:.0%} ({children:.0%} in its children, "
            f"{per_answer * 1000:.2f} ms a 2xx), wrk {run.generator_cpu:.0%}, PostgreSQL {services['postgres']:.0%}, "
            f"Redis {services['redis-server']:.0%}"), per_answer


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


def statuses(run: loadgen.Run) -> str:
    return " ".join(f"{status}:{count}" for status, count in sorted(run.statuses.items())) or "none"


class Bench:
    """One run: the database, the broker, the signed deliveries, and the figures gathered so far."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.signed = signed_requests(args.requests)
        self.sentinel_env: dict[str, str] = {}  # set by main() with --sentinel
        self.next_webhook = 0  # both ingresses share the inbox: the second one goes on where the first stopped
        self.items: list[tuple[str, bytes]] | None = None  # loaded when a fixed-rate run needs them
        self.broker = own_broker_db()
        self.database, url = create_database()
        self.env = {**os.environ, **INGRESS_SETTINGS, "HOOKLINE_DATABASE_URL": url, "HOOKLINE_BROKER_URL": REDIS_URL,
                    "HOOKLINE_GHL_WEBHOOK_ED25519_PUBLIC_KEY": self.signed.public_pem,
                    # The deliveries were signed once, possibly days ago; the window check still runs.
                    "HOOKLINE_REPLAY_WINDOW_SECONDS": str(int(self.signed.age_seconds) + 3600),
                    "BENCH_DATABASE_URL": url, "BENCH_REDIS_URL": REDIS_URL,
                    "HOOKLINE_SECRET_KEYS": secret_keys()}
        self.log_dir = Path(tempfile.mkdtemp(prefix="hookline-bench-"))
        self.peak: dict[str, loadgen.Run] = {}
        self.fixed: dict[str, loadgen.FixedRun] = {}
        self.checks: list[str] = []
        self.cpu_per_answer: dict[str, float] = {}  # server CPU seconds per 2xx, by key (and "<key> fixed")

    def close(self) -> None:
        self.broker.flushdb()
        admin(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")

    def measure(self, name: str, key: str) -> None:
        """Measure server `name`; its figures are filed under `key` (the name, with the round after the first)."""
        label, app = SERVERS[name]
        label += key.removeprefix(name)
        env = {**self.env, **(self.sentinel_env if name == "sentinel" else {})}
        server = Server(label, app, workers=WORKERS.get(name, self.args.workers), env=env, cwd=ROOT,
                        log=self.log_dir / f"{key}.log")
        table = "bench_raw" if name == "raw" else "webhook_events" if name in INGRESSES else None
        try:
            first = self.peak_run(name, key, server, table)
            if table:
                first = self.fixed_run(name, key, server, table, first)
            if name in INGRESSES:
                self.next_webhook = first
            if first > self.signed.count and name in INGRESSES:
                self.checks.append(f"WARNING: the real ingress was sent {first} webhooks but there are only "
                                   f"{self.signed.count} distinct ones; repeats were answered 200: raise --requests")
        finally:
            server.stop()
            self.broker.flushdb()

    def peak_run(self, name: str, key: str, server: Server, table: str | None) -> int:
        load = {"connections": self.args.connections, "threads": self.args.threads}
        start = self.next_webhook if name in INGRESSES else 0
        first = loadgen.wrk(server.url, self.signed.path, first=start, seconds=self.args.warmup, **load).next_index
        before = settled_count(self.database, table) if table else 0
        self.broker.flushdb()
        profiler = self.profile(key, server)
        cpu_before = cpu_so_far(server)
        run = self.peak[key] = loadgen.wrk(server.url, self.signed.path, first=first, seconds=self.args.duration,
                                            **load)
        used, self.cpu_per_answer[key] = cpu_used(server, cpu_before, run)
        if profiler is not None:
            profiler.wait()
        print(f"{server.label:16} max   {run.accepted_per_second:9.0f} 2xx/s  p50 {ms(run.p50)} ms  "
              f"p99 {ms(run.p99)} ms  statuses {statuses(run)}  socket errors {run.errors}  {used}", flush=True)
        if table:
            rows = settled_count(self.database, table) - before
            # wrk stops with requests in flight, which the server may still commit.
            verdict = "ok" if 0 <= rows - run.accepted <= self.args.connections else "MISMATCH"
            self.checks.append(f"{server.label}, max run: {rows} rows committed, {run.accepted} 2xx answered "
                               f"(up to {self.args.connections} more rows: requests cut off in flight): {verdict}")
        if name in INGRESSES:
            # The bench's one tenant floods, so most of its tasks go to the bulk lane (transport/lanes.py).
            main, bulk = self.broker.llen("ghl_sync"), self.broker.llen("ghl_sync.bulk")
            self.checks.append(f"{server.label}, max run: {main + bulk} task messages in Redis (ghl_sync {main}, "
                               f"ghl_sync.bulk {bulk}); the publisher process may still have had some in hand")
            # With --workers 2, /metrics answers from whichever worker takes the request: one process's figures.
            self.checks.append(f"{server.label}, warm-up and max run: {inbox_figures(server.url)}")
        return run.next_index

    def profile(self, name: str, server: Server) -> subprocess.Popen | None:
        """py-spy on the server while wrk runs (max and fixed-rate runs); --nonblocking, so it does not pause it."""
        if not self.args.profile:
            return None
        py_spy = shutil.which("py-spy") or sys.exit("py-spy is missing: run with `uv run --group bench`")
        output = self.log_dir / f"{name}.collapsed.txt"
        print(f"{server.label:16} profile -> {output} (speedscope.app or flamegraph.pl read it)")
        command = [py_spy, "record", "--nonblocking", "--subprocesses", "--format", "raw", "--duration",
                   str(self.args.duration), "--output", str(output), "--pid", str(server.process.pid)]
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def fixed_run(self, name: str, key: str, server: Server, table: str, first: int) -> int:
        base = self.peak["raw"] if "raw" in self.peak else self.peak[key]
        rate = self.args.rate or 0.5 * base.accepted_per_second
        self.items = self.items or self.signed.load()
        before = settled_count(self.database, table)
        self.broker.flushdb()
        profiler = self.profile(f"{key}-fixed", server)
        metrics_before = inbox_metrics(server.url) if name in INGRESSES else None
        cpu_before = cpu_so_far(server)
        run = self.fixed[key] = loadgen.fixed_rate(server.url, self.items, first=first, rate=rate,
                                                    seconds=self.args.duration, connections=self.args.connections)
        used, self.cpu_per_answer[f"{key} fixed"] = cpu_used(server, cpu_before, run)
        if profiler is not None:
            profiler.wait()
        rows = settled_count(self.database, table) - before
        print(f"{server.label:16} fixed {run.rate:9.0f} req/s  p50 {ms(run.p50)} ms  p99 {ms(run.p99)} ms  "
              f"max {ms(run.max)} ms  2xx/s {run.accepted_per_second:.0f}  statuses {statuses(run)}  "
              f"socket errors {run.errors}  sent late (connection busy) {run.late_sends}  unsent {run.unsent}  "
              f"sender's own lag p99 {ms(run.lag_p99).strip()} ms  {used}", flush=True)
        # A request still unanswered when wrk stopped (counted in `unsent`) may have been committed.
        verdict = "ok" if 0 <= rows - run.accepted <= run.unsent else "MISMATCH"
        self.checks.append(f"{server.label}, fixed-rate run: {rows} rows committed, {run.accepted} 2xx answered, "
                           f"{run.unsent} unsent or cut off: {verdict}")
        if metrics_before is not None:
            self.checks.append(f"{server.label}, fixed-rate run: {inbox_figures(server.url, metrics_before)}")
        return run.next_index


def main() -> None:
    args = parse_args()
    loadgen.require_wrk()
    with ExitStack() as stack:
        sentinel_env = start_sentinels(stack) if args.sentinel else {}
        bench = Bench(args)
        bench.sentinel_env = sentinel_env
        run(bench)


def start_sentinels(stack: ExitStack) -> dict[str, str]:
    """A Sentinel cluster for the run; the bench's own Redis becomes its primary (db 1: the Sentinels'
    own connections sit on db 0). The settings that send the ingress through the Sentinels."""
    global REDIS_URL
    cluster = stack.enter_context(sentinel_cluster(Path(tempfile.mkdtemp(prefix="hookline-bench-sentinel-"))))
    REDIS_URL = f"redis://:{PASSWORD}@127.0.0.1:{cluster.primary_port()}/1"
    return {"HOOKLINE_BROKER_URL": cluster.url(db=1), "HOOKLINE_REDIS_SENTINEL_MASTER": MASTER}


def run(bench: Bench) -> None:
    args = bench.args
    try:
        print(f"database {bench.database}, redis {REDIS_URL}, server logs in {bench.log_dir}")
        print(f"{args.connections} connections, {args.threads} wrk thread(s), {args.workers} uvicorn worker(s), "
              f"{args.warmup:g} s warm-up + {args.duration:g} s per run, {bench.signed.count} distinct webhooks\n")
        names = [name for name in SERVERS if name in (args.only or DEFAULT_SERVERS)
                 and (name != "sentinel" or args.sentinel)]
        for round_number in range(1, args.rounds + 1):
            for name in names:
                bench.measure(name, name if round_number == 1 else f"{name} #{round_number}")
        report(bench)
    finally:
        bench.close()


def report(bench: Bench) -> None:
    peak, fixed = bench.peak, bench.fixed
    print("\nmaximum throughput (wrk, closed loop)")
    print(f"  {'server':16} {'2xx/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'errors':>7}")
    for key, run in peak.items():
        print(f"  {label(key):16} {run.accepted_per_second:9.0f} {ms(run.p50)} {ms(run.p99)} "
              f"{run.rejected:8d} {run.errors:7d}")
    for name, run in fixed.items():
        if name == next(iter(fixed)):
            print(f"\nfixed rate {run.rate:.0f} req/s (open loop; latency counted from each request's scheduled time)")
            print(f"  {'server':16} {'2xx/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'non-2xx':>8} "
                  f"{'errors':>7} {'unsent':>7}")
        print(f"  {label(name):16} {run.accepted_per_second:9.0f} {ms(run.p50)} {ms(run.p99)} {ms(run.max)} "
              f"{run.rejected:8d} {run.errors:7d} {run.unsent:7d}")
    print("\nchecks")
    for line in bench.checks:
        print(f"  {line}")
    print("\ntargets")
    if "real" in peak and "raw" in peak:
        ratio = peak["real"].accepted_per_second / max(peak["raw"].accepted_per_second, 1e-9)
        print(f"  real / raw durable throughput  {ratio:7.2f}x    (target >= {TARGET_RATIO}x)   "
              f"{'PASS' if ratio >= TARGET_RATIO else 'MISS'}")
    else:
        print("  real / raw durable throughput  not measured: needs both raw and real")
    for key in peak:  # the real ingress, each way, against the raw durable endpoint of its own round
        name = key.split(" ")[0]
        raw = peak.get("raw" + key.removeprefix(name))
        if (name == "real" or name in WORKERS) and raw is not None:
            ratio = peak[key].accepted_per_second / max(raw.accepted_per_second, 1e-9)
            p99 = f"p99 {fixed[key].p99 * 1000:.1f} ms at {fixed[key].rate:.0f} req/s" if key in fixed else ""
            cpu = bench.cpu_per_answer.get(key, 0) * 1000
            print(f"  {label(key):16} / raw durable of its round {ratio:5.2f}x   server CPU {cpu:.2f} ms a 2xx at max   "
                  f"{p99}")
    if "sentinel" in peak and "real" in peak:
        ratio = peak["sentinel"].accepted_per_second / max(peak["real"].accepted_per_second, 1e-9)
        print(f"  via Sentinel / real throughput {ratio:7.2f}x    (the same primary, reached directly or through Sentinel)")
    if "real" in fixed:
        run = fixed["real"]
        met = run.p99 <= TARGET_P99 and not (run.rejected or run.errors or run.unsent)
        basis = "half raw durable's max" if "raw" in peak else "half the real ingress's own max, no raw run"
        print(f"  real p99 at {run.rate:.0f} req/s  {run.p99 * 1000:9.1f} ms  (target <= {TARGET_P99 * 1000:g} ms)  "
              f"{'PASS' if met else 'MISS'}   rate: {'--rate' if bench.args.rate else basis}")


def label(key: str) -> str:
    """A figure's label: its server's, with the round after the first ("workers2 #2")."""
    name = key.split(" ")[0]
    return SERVERS[name][0] + key.removeprefix(name)


if __name__ == "__main__":
    main()
