"""What recording a task run costs: the worker's two statements (start + finish) next to one INSERT.

Prints microseconds of wall time per recorded run on this machine's PostgreSQL, through the
worker's own Recorder (one autocommitted statement per call, a kept connection), next to a
single autocommitted INSERT as the "one INSERT at the end" alternative would make. Asserts nothing.

    uv run python bench/task_runs.py [--runs 5000]
"""

from __future__ import annotations

import argparse
import os
import time

import psycopg

from database import bench_database  # bench/database.py


def per_run_us(runs: int, record) -> float:  # noqa: ANN001
    for i in range(50):  # warm up: connection, prepared statements (psycopg prepares after 5 uses)
        record(f"warm-{i}")
    started = time.perf_counter()
    for i in range(runs):
        record(f"run-{i}")
    return (time.perf_counter() - started) / runs * 1e6


def inserter(conn: psycopg.Connection, tenant_id: int):  # noqa: ANN201
    """One autocommitted INSERT of a finished run, as an end-only recorder would send it."""
    sql = ("SELECT set_config('app.tenant_id', %s, false); INSERT INTO task_runs (tenant_id, task, queue, task_id, "
           "event_id, state, attempt, request_id, finished_at, runtime_seconds) "
           "VALUES (%s, 'bench.task', 'ghl_sync', %s, 1, 'succeeded', 1, 'r', now(), 0.001)")

    def one_insert(task_id: str) -> None:
        # Two statements in one message: psycopg sends them as one simple query, one round trip.
        conn.execute(sql.replace("%s", "{}").format(f"'{tenant_id}'", tenant_id, f"'{task_id}'"), prepare=False)

    return one_insert


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5000)
    args = parser.parse_args()

    os.environ["HOOKLINE_BROKER_URL"] = "redis://127.0.0.1:1/0"
    with bench_database() as (_, url):
        from hookline.db import get_engine, global_session
        from hookline.migrate import upgrade
        from hookline.services.tenants import add_tenant
        from hookline.workers.taskruns import Recorder

        upgrade(url)
        with global_session() as session:
            tenant_id = add_tenant(session, "Bench Runs").id
        get_engine().dispose()
        recorder = Recorder()

        def start_and_finish(task_id: str) -> None:
            recorder.start(tenant_id, task="bench.task", queue="ghl_sync", task_id=task_id, event_id=1,
                           attempt=1, request_id="r")
            recorder.finish(tenant_id, state="succeeded", runtime=0.001, error=None, task_id=task_id)
            recorder.flush()  # as if the task took no time at all: each answer is waited for

        both = per_run_us(args.runs, start_and_finish)
        with psycopg.connect(url, autocommit=True, options="-c synchronous_commit=off") as conn:
            single = per_run_us(args.runs, inserter(conn, tenant_id))
        with psycopg.connect(url, autocommit=True) as conn:  # the same INSERT, waiting for its WAL flush
            flushed = per_run_us(min(args.runs, 500), inserter(conn, tenant_id))
        print(f"task_runs, {args.runs} runs each, wall time per recorded run (synchronous_commit off):")
        print(f"  start + finish (the worker's 2 statements, answers awaited): {both:8.0f} us")
        print(f"  one INSERT at the end (1 round trip, no 'started'):   {single:8.0f} us")
        print(f"  the price of seeing running and lost tasks:           {both - single:8.0f} us per run")
        print(f"  for scale, one INSERT with synchronous_commit on:     {flushed:8.0f} us")


if __name__ == "__main__":
    main()
