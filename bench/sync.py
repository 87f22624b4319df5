"""A full contacts backfill THROUGH THE TASKS: a real Celery worker against the fake GoHighLevel at its rate limit.

What `hookline sync start --full` does (tasks/reconciling.start_sync), timed end to end: the
`reconcile` chain on a worker like the Procfile's `worker_sync` (2 processes) reads the fake's
location page by page, stores each page through the webhooks' ordering rule and commits it with
the cursor. Prints contacts synced per second and that as a fraction of the limit's maximum,
`limit / window × page size` (GoHighLevel: 100 / 10 s × 100 = 1,000 contacts/s), both over the
whole run and after the first window (whose fresh budget flatters a short run). The fake counts
the requests it accepts per location: a 429, or more than `limit` in any window, would mean the
limiter let too much through.

    uv run python bench/sync.py [--contacts 30000] [--limit 100] [--window 10] [--page-limit 100]
                                [--pages-per-task 20] [--slack S] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))  # tests.support: the fake GoHighLevel server

import redis  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402

import ingress as ingress_bench  # noqa: E402  # bench/ is this script's folder: its siblings import by name
from signed import LOCATION_ID  # noqa: E402
from tests.support.fake_ghl import FakeGHL, serve  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=30_000, help="contacts in the fake location")
    parser.add_argument("--limit", type=int, default=100, help="fake server: requests per window and location")
    parser.add_argument("--window", type=float, default=10.0, help="fake server: window, seconds")
    parser.add_argument("--page-limit", type=int, default=100, help="contacts per search page (HOOKLINE_SYNC_PAGE_LIMIT)")
    parser.add_argument("--pages-per-task", type=int, default=20, help="HOOKLINE_SYNC_PAGES_PER_TASK")
    parser.add_argument("--slack", type=float, help="the limiter's slack, seconds (default: the setting's default)")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    return parser.parse_args()


def progress(database: str) -> tuple[str, int, int] | None:
    rows = ingress_bench.admin("SELECT state, pages, rows FROM sync_runs WHERE resource = 'contacts'", dbname=database)
    return rows[0] if rows else None


def main() -> None:
    args = parse_args()
    broker = redis.Redis.from_url(ingress_bench.REDIS_URL)
    broker.flushdb()
    # Tokens are stored encrypted: one key for this process and the worker, unless one is set.
    os.environ.setdefault("HOOKLINE_SECRET_KEYS", Fernet.generate_key().decode())
    database, url = ingress_bench.create_database()  # sets HOOKLINE_DATABASE_URL / _BROKER_URL for this process
    from hookline.config import get_settings
    from hookline.db import get_engine, global_session, tenant_session
    from hookline.integrations.auth import TokenSet
    from hookline.services import tokens
    from hookline.services.tenants import find_connection
    from hookline.tasks.reconciling import start_sync

    if args.slack is None:
        args.slack = get_settings().api_rate_slack_seconds
    fake = FakeGHL(limit=args.limit, window=args.window)
    fake.add_contacts(LOCATION_ID, args.contacts)
    access, _ = fake.issue(LOCATION_ID)
    with global_session() as session:
        connection = find_connection(session, "ghl", LOCATION_ID)
        tenant_id, connection_id = connection.tenant_id, connection.id
    with tenant_session(tenant_id) as session:
        tokens.store(session, tenant_id, connection_id, "private", TokenSet(access))

    log_dir = Path(tempfile.mkdtemp(prefix="hookline-bench-sync-"))
    worker = None
    with serve(fake.app()) as fake_url:
        env = {**os.environ, "HOOKLINE_DATABASE_URL": url, "HOOKLINE_BROKER_URL": ingress_bench.REDIS_URL,
               "HOOKLINE_GHL_API_URL": fake_url, "HOOKLINE_GHL_BURST_LIMIT": str(args.limit),
               "HOOKLINE_GHL_BURST_WINDOW_SECONDS": str(args.window), "HOOKLINE_API_RATE_SLACK_SECONDS": str(args.slack),
               "HOOKLINE_SYNC_PAGE_LIMIT": str(args.page_limit), "HOOKLINE_SYNC_PAGES_PER_TASK": str(args.pages_per_task)}
        name = f"bench-sync-{uuid.uuid4().hex[:6]}@localhost"
        command = [sys.executable, "-m", "celery", "-A", "hookline.workers.app", "worker", "-n", name, "-Q", "ghl_sync",
                   "--concurrency", str(args.concurrency), "--without-mingle", "--without-gossip", "--loglevel", "WARNING"]
        try:
            with (log_dir / "worker.log").open("wb") as out:
                worker = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            wait_for_worker(name, worker, log_dir)
            samples = run_backfill(start_sync, tenant_id, database, args)
        finally:
            if worker is not None and worker.poll() is None:
                os.killpg(worker.pid, 15)
                worker.wait(timeout=30)
    report(samples, fake, args, database)
    get_engine().dispose()
    broker.flushdb()
    ingress_bench.admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def wait_for_worker(name: str, worker: subprocess.Popen, log_dir: Path) -> None:
    from hookline.workers.app import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and worker.poll() is None:
        if app.control.ping(destination=[name], timeout=0.5):
            return
    sys.exit(f"the worker did not start; its log: {log_dir / 'worker.log'}")


def run_backfill(start_sync, tenant_id: int, database: str, args: argparse.Namespace) -> list[tuple[float, int, int]]:  # noqa: ANN001
    """Start the backfill and sample (seconds since start, pages, rows) until the run is idle."""
    started = time.monotonic()
    assert start_sync(tenant_id, "ghl", "contacts", full=True) == "started"
    samples = [(0.0, 0, 0)]
    timeout = 30 + 3 * args.contacts / (args.limit / args.window * args.page_limit)
    while time.monotonic() - started < timeout:
        state, pages, rows = progress(database) or ("running", 0, 0)
        samples.append((time.monotonic() - started, pages, rows))
        if state != "running":
            if state != "idle":
                sys.exit(f"the backfill ended {state}: {ingress_bench.admin('SELECT last_error FROM sync_runs', dbname=database)}")
            return samples
        time.sleep(0.1)
    sys.exit(f"the backfill was not done after {timeout:.0f} s ({samples[-1][2]} rows)")


def report(samples: list[tuple[float, int, int]], fake: FakeGHL, args: argparse.Namespace, database: str) -> None:
    elapsed, pages, rows = samples[-1]
    stored = ingress_bench.admin("SELECT count(*) FROM contacts", dbname=database)[0][0]
    maximum = args.limit / args.window * args.page_limit
    # After the first window: from the first sample past it to the end.
    after = next(s for s in samples if s[0] >= args.window) if elapsed > 2 * args.window else samples[0]
    steady = (rows - after[2]) / (elapsed - after[0])
    print(f"fake limit: {args.limit} requests / {args.window:g} s per location; {args.page_limit} contacts per page; "
          f"{args.pages_per_task} pages per task; {args.concurrency} worker processes; slack {args.slack:g} s")
    print(f"backfill:   {stored:,} contacts stored ({rows:,} rows read in {pages} pages) in {elapsed:.1f} s "
          f"= {stored / elapsed:,.0f} contacts/s")
    print(f"maximum:    {maximum:,.0f} contacts/s; fraction {stored / elapsed / maximum:.2f} over the run, "
          f"{steady / maximum:.2f} after the first window ({steady:,.0f} contacts/s)")
    print(f"limit held: {fake.refused_429[LOCATION_ID]} 429s from the fake; most accepted in any "
          f"{args.window:g} s: {fake.max_in_window(LOCATION_ID)} (limit {args.limit})")


if __name__ == "__main__":
    main()
