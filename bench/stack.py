"""What the end-to-end benches share: a database with tenants, the real ingress, a real worker, senders.

Built on bench/ingress.py (database, Redis, signed deliveries, the uvicorn server): tenant
`Bench Solar` (location `loc-bench`) gets the cached Ed25519-signed deliveries of bench/signed.py;
the other tenants post ContactCreates signed live with the same bench key (`x-ghl-signature`,
which the ingress verifies with HOOKLINE_GHL_WEBHOOK_ED25519_PUBLIC_KEY).
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from honcho.environ import parse_procfile

import ingress as ingress_bench  # bench/ is this script's folder, so its siblings import by name
import loadgen
from hookline.readiness import is_worker, worker_queues
from servers import Server
from signed import HEADER, TEMPLATE, SignedRequests

BENCH_DIR = Path(__file__).resolve().parent


class Stack:
    """A database, the real ingress and the Procfile's Celery workers of ghl_sync (each its own process group)."""

    def __init__(self, signed: SignedRequests, locations: list[str], *, worker_app: str = "bench_tasks",
                 settings: dict[str, str] | None = None, split_lanes: bool = False) -> None:
        self.signed = signed
        self.broker = ingress_bench.own_broker_db()
        self.database, url = ingress_bench.create_database()
        from hookline.db import get_engine, global_session
        from hookline.services.tenants import add_tenant

        self.tenants = {ingress_bench.LOCATION_ID: ingress_bench.admin(
            "SELECT id FROM tenants", dbname=self.database)[0][0]}
        with global_session() as session:
            for location in locations:
                self.tenants[location] = add_tenant(session, f"Bench {location}", ghl_location_id=location).id
        get_engine().dispose()
        self.env = {**os.environ, **ingress_bench.INGRESS_SETTINGS, "HOOKLINE_DATABASE_URL": url,
                    "HOOKLINE_BROKER_URL": ingress_bench.REDIS_URL, "HOOKLINE_GHL_WEBHOOK_ED25519_PUBLIC_KEY": signed.public_pem,
                    "HOOKLINE_REPLAY_WINDOW_SECONDS": str(int(signed.age_seconds) + 3600),
                    "HOOKLINE_SECRET_KEYS": ingress_bench.secret_keys(),
                    "PYTHONPATH": os.pathsep.join(filter(None, [str(BENCH_DIR), os.environ.get("PYTHONPATH")])),
                    **(settings or {})}
        self.log_dir = Path(tempfile.mkdtemp(prefix="hookline-bench-"))
        self.server = Server("real ingress", ["hookline.ingress.app:create_app", "--factory"], workers=1,
                             env=self.env, cwd=ingress_bench.ROOT, log=self.log_dir / "ingress.log")
        # As the Procfile's workers of ghl_sync (their processes; on Redis they prefetch nothing:
        # workers/app.py), with the bench's no-op task added; `split_lanes`: each split in two.
        self.workers: list[subprocess.Popen] = []
        workers = procfile_workers("ghl_sync")
        if split_lanes:  # each as two workers, one per lane (`celery worker --lanes`, docs/operations.md)
            workers = [(f"{name}-{lanes}", [*options, "--lanes", lanes]) for name, options in workers
                       for lanes in ("main", "bulk")]
        self.worker_commands = workers
        for name, options in workers:
            command = [sys.executable, "-m", "celery", "-A", worker_app, "worker",
                       "-n", f"bench-{name}-{uuid.uuid4().hex[:6]}@%h", "-Q", "ghl_sync", *options,
                       "--without-mingle", "--without-gossip", "--loglevel", "WARNING"]
            with (self.log_dir / f"{name}.log").open("wb") as out:
                self.workers.append(subprocess.Popen(command, cwd=BENCH_DIR, env=self.env, stdout=out,
                                                     stderr=subprocess.STDOUT, start_new_session=True))
        self._wait_for_workers()

    def _wait_for_workers(self) -> None:
        from hookline.workers.app import app

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and all(worker.poll() is None for worker in self.workers):
            if len(app.control.ping(timeout=0.5)) >= len(self.workers):
                return
        self.close()
        sys.exit(f"the workers did not start; their logs are in {self.log_dir}")

    def worker_cpu_seconds(self) -> float:
        """CPU time (user + system) the workers' live processes have used: main processes and pool children."""
        groups = {worker.pid for worker in self.workers}  # each its own process group (start_new_session)
        return cpu_seconds(lambda name, group: group in groups)

    def ingress_cpu_seconds(self) -> float:
        """CPU time the real ingress's live processes have used (its own process group)."""
        return cpu_seconds(lambda name, group: group == self.server.process.pid)


    def close(self) -> None:
        self.server.stop()
        for worker in self.workers:
            if worker.poll() is None:
                os.killpg(worker.pid, 15)
        for worker in self.workers:
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, 9)
        self.broker.flushdb()
        ingress_bench.admin(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")

    def processed(self, location: str, since: float = 0.0) -> list[tuple[int, float]]:
        """(event id, processed_at as a Unix time) of the tenant's processed events received since `since`."""
        rows = ingress_bench.admin(
            "SELECT id, extract(epoch FROM processed_at)::float8 FROM webhook_events WHERE tenant_id = %s "
            "AND status = 'processed' AND received_at >= to_timestamp(%s) ORDER BY processed_at",
            (self.tenants[location], since), dbname=self.database)
        return [(event_id, moment) for event_id, moment in rows]

    def received(self, location: str, since: float = 0.0) -> dict[int, float]:
        """Event id → received_at (the ingress's insert, as a Unix time) of the tenant's events since `since`."""
        rows = ingress_bench.admin(
            "SELECT id, extract(epoch FROM received_at)::float8 FROM webhook_events WHERE tenant_id = %s "
            "AND received_at >= to_timestamp(%s)", (self.tenants[location], since), dbname=self.database)
        return dict(rows)

    def started(self, location: str, since: float = 0.0) -> dict[int, float]:
        """Event id → the start of the first task run that carried it alone (task_runs.started_at, the
        worker's prerun signal), of the tenant's one-event runs since `since`."""
        rows = ingress_bench.admin(
            "SELECT event_id, extract(epoch FROM min(started_at))::float8 FROM task_runs WHERE tenant_id = %s "
            "AND event_id IS NOT NULL AND started_at >= to_timestamp(%s) GROUP BY event_id",
            (self.tenants[location], since), dbname=self.database)
        return dict(rows)

    def processed_count(self, location: str, since: float = 0.0) -> int:
        (count,), = ingress_bench.admin(
            "SELECT count(*) FROM webhook_events WHERE tenant_id = %s AND status = 'processed' "
            "AND received_at >= to_timestamp(%s)", (self.tenants[location], since), dbname=self.database)
        return count

    def wait_processed(self, location: str, count: int, since: float, timeout: float = 1800) -> list[tuple[int, float]]:
        """The rows of `processed` once `count` are there. Polls a count every 2 s: fetching and
        sorting every row twice a second took a sizeable share of the database's CPU from the run
        it measures. The figures come from the rows' `processed_at`, not from when a poll saw them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = self.processed_count(location, since)
            if done >= count:
                return self.processed(location, since)
            time.sleep(2)
        raise SystemExit(f"only {done} of {count} events of {location} processed after {timeout:.0f} s")

    def flood(self, *, first: int, seconds: int, connections: int = 32) -> loadgen.Run:
        """The signed deliveries from index `first` on, POSTed to the real ingress by wrk at its maximum
        for `seconds` (as raw durable is driven; bench/loadgen.py). Every request must be a distinct
        delivery: a wrapped-around one would be a duplicate, answered but no new row."""
        run = loadgen.wrk(self.server.url, self.signed.path, first=first, seconds=seconds,
                          connections=connections, threads=2)
        if run.next_index > self.signed.count:
            raise SystemExit(f"wrk sent up to delivery {run.next_index} of {self.signed.count} signed: raise --webhooks")
        if run.rejected or run.errors:
            print(f"  (the ingress refused {run.rejected} and wrk saw {run.errors} socket errors: see {self.log_dir})")
        return run

    def signed_body(self, location: str) -> tuple[bytes, dict[str, str]]:
        """A distinct ContactCreate for `location`, Ed25519-signed now."""
        label = uuid.uuid4().hex
        body = json.dumps({**TEMPLATE, "locationId": location, "webhookId": str(uuid.uuid4()), "id": f"ct-{label}",
                           "email": f"{label}@example.com",
                           "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())}).encode()
        return body, {"content-type": "application/json", HEADER: self.signed.sign(body)}


def procfile_workers(queue: str) -> list[tuple[str, list[str]]]:
    """The Procfile's workers of `queue` (read as `hookline dev` reads it), so the benches run them
    as deployed: (name, its --concurrency and --lanes options)."""
    workers = []
    for name, command in parse_procfile((ingress_bench.ROOT / "Procfile").read_text()).processes.items():
        argv = shlex.split(command)
        if is_worker(argv) and queue in worker_queues(argv):
            workers.append((name, [word for option in ("--concurrency", "--lanes") if option in argv
                                   for word in (option, argv[argv.index(option) + 1])]))
    if not workers:
        raise SystemExit(f"no worker of {queue} in the Procfile")
    return workers


async def send_all(host: str, port: int, items: list[tuple[str, bytes]], connections: int = 32) -> int:
    """POST every pre-signed delivery as fast as answered over `connections` keep-alive connections; the 2xx count."""
    pending = iter(items)
    accepted = 0

    async def connection() -> None:
        nonlocal accepted
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for signature, body in pending:
                writer.write(loadgen.request_bytes(f"{host}:{port}", signature, body))
                status = await loadgen.read_status(reader)  # before `+=`, which reads `accepted` first
                accepted += 200 <= status < 300
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return accepted


async def post_every(stack: Stack, location: str, interval: float, until: asyncio.Event,
                     sent: dict[int, float]) -> None:
    """One delivery every `interval` seconds until `until` is set; records event id → send time (Unix).
    On one keep-alive connection, written and read by hand as send_all does: httpx cost ~2 ms of CPU a
    request, which the mixed phase of bench/fairness.py took from the cores the servers share."""
    host, port = "127.0.0.1", stack.server.port
    reader, writer = await asyncio.open_connection(host, port)
    try:
        next_at = time.monotonic()
        while not until.is_set():
            body, headers = stack.signed_body(location)
            request = loadgen.request_bytes(f"{host}:{port}", headers[HEADER], body)
            moment = time.time()
            writer.write(request)
            status, answer = await loadgen.read_answer(reader)
            if status == 202:
                sent[json.loads(answer)["event_id"]] = moment
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    finally:
        writer.close()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def cpu_seconds(counted: Callable[[str, int], bool]) -> float:
    """CPU time (user + system) of the live processes `counted(name, process group)` picks, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name, rest = (entry / "stat").read_text().split(" (", 1)[1].rsplit(")", 1)
        except OSError:  # gone meanwhile
            continue
        fields = rest.split()
        if counted(name, int(fields[2])):
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def postgres_cpu_seconds() -> float:
    """CPU time of PostgreSQL's live processes (every backend and background process on this machine:
    a backend that ended meanwhile is missed, so it reads a little low)."""
    return cpu_seconds(lambda name, group: name == "postgres")
