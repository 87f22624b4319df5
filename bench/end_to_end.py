"""Webhooks per second from POST to committed row, next to the raw durable endpoint's maximum, in one run.

    uv run python bench/end_to_end.py [--webhooks 20000] [--noops 5000] [--raw-seconds 10]

A real ingress (uvicorn) and one Celery worker like the Procfile's worker_sync (its processes,
no prefetch on Redis), both on this machine (bench/stack.py), the worker also carrying a no-op task
(bench/bench_tasks.py). Measured, in this order:
  - raw durable: bench/reference_apps.py:durable (one INSERT + one LPUSH, then 202; bench/ingress.py's
    yardstick) in one uvicorn process like the ingress, driven by wrk at its maximum for --raw-seconds;
  - no-op drain: --noops no-op tasks published in pipelined batches on ghl_sync, then one that
    stamps its time in Redis; rate = tasks / (that stamp - start of publishing). The yardstick is
    a plain Celery no-op in the same worker and config: its arguments carry no tenant, so
    Hookline's task signals record no task_runs row for it (they still bind logs and count);
  - the same no-op with a tenant, for information: what Hookline's per-task bookkeeping adds;
  - end to end: distinct Ed25519-signed ContactCreates (bench/signed.py, --webhooks of them) POSTed
    to the real ingress by the same wrk as raw durable, at its maximum for --e2e-seconds, over the
    same connections; rate = rows / (the last row's processed_at - the first POST), every row
    processed by the one hop ingress → ghl_sync task. (`--sender python` posts all --webhooks from
    this process instead, as before 2026-12-07: that sender shared the two cores with the ingress
    and the worker, which raw durable's wrk barely does, so the two rates were not comparable);
  - no-op drain again, to show how much the machine's load moved during the run;
  - raw durable again: the ratio is end to end against the mean of the two raw durable runs that
    bracket it (this machine's speed moved ~1.5× within an hour; one raw run before was a lottery).
Each line also gives the CPU the worker's processes spent per task, which a busy machine
disturbs much less than a rate; end to end gives it per event for the ingress, the worker and
PostgreSQL (all of its processes on this machine).
The target is end to end ≥ 0.8× the raw durable endpoint's maximum (issue 22): the workers keep up
with what the ingress can take. HOOKLINE_BATCH_SIZE in the environment sets the events per task
message (1: one message per event, as before batches). Figures on this shared 2-core machine are
noisy: compare within one run. It asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid

import stack as bench_stack
from signed import signed_requests

TARGET = 0.8


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--webhooks", type=int, default=60_000,
                        help="distinct signed webhooks, at least what end to end sends (60000)")
    parser.add_argument("--noops", type=int, default=5_000, help="no-op tasks per drain measurement (5000)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent POST connections (32)")
    parser.add_argument("--raw-seconds", type=int, default=10, help="length of the raw durable max run (10)")
    parser.add_argument("--e2e-seconds", type=int, default=10, help="length of the end-to-end wrk run (10)")
    parser.add_argument("--sender", choices=("wrk", "python"), default="wrk",
                        help="what posts end to end: wrk like raw durable (default), or this process")
    return parser.parse_args()


def noop_rate(stack: bench_stack.Stack, count: int, *, recorded: bool = False) -> tuple[float, float]:
    """Tasks/s and the worker's CPU ms per task; `recorded`: with a tenant, so each leaves a task_runs row."""
    from bench_tasks import NOOP
    from hookline.transport.messages import TaskMessages, push  # after the stack set the environment
    from hookline.transport.publisher import Job
    from hookline.workers.app import app

    class PlainJob(Job):
        """Without `tenant_id` in its arguments: Hookline's task signals record no task_runs row for it."""

        @property
        def kwargs(self) -> dict[str, int]:
            return {"index": self.event_id}

    job = Job if recorded else PlainJob
    mark = f"bench:noop:{uuid.uuid4().hex}"
    cpu = stack.worker_cpu_seconds()
    started = time.time()
    messages = TaskMessages(app)
    for first in range(0, count, 500):  # as the ingress's publisher does: one pipeline per batch
        push(stack.broker, messages, [job(NOOP, 1, index, "bench") for index in range(first, min(first + 500, count))])
    app.send_task(NOOP, kwargs={"mark": mark})
    deadline = time.monotonic() + 600
    while (finished := stack.broker.get(mark)) is None:
        if time.monotonic() > deadline:
            raise SystemExit("the no-op drain did not finish in 600 s")
        time.sleep(0.05)
    return (count + 1) / (float(finished) - started), (stack.worker_cpu_seconds() - cpu) / (count + 1) * 1000


def raw_durable_rate(stack: bench_stack.Stack, signed: object, seconds: int, connections: int) -> float:
    """2xx/s of the raw durable endpoint at its maximum (wrk, after a 3 s warm-up), on the stack's database and Redis."""
    import loadgen
    from servers import Server

    env = {**stack.env, "BENCH_DATABASE_URL": stack.env["HOOKLINE_DATABASE_URL"],
           "BENCH_REDIS_URL": bench_stack.ingress_bench.REDIS_URL}
    server = Server("raw durable", ["reference_apps:durable", "--app-dir", str(bench_stack.BENCH_DIR)], workers=1,
                    env=env, cwd=bench_stack.ingress_bench.ROOT, log=stack.log_dir / "raw.log")
    try:
        load = {"connections": connections, "threads": 2}
        first = loadgen.wrk(server.url, signed.path, first=0, seconds=3, **load).next_index
        return loadgen.wrk(server.url, signed.path, first=first, seconds=seconds, **load).accepted_per_second
    finally:
        server.stop()
        stack.broker.delete("bench_raw")


def main() -> None:
    args = parse_args()
    signed = signed_requests(args.webhooks)
    items = signed.load()
    stack = bench_stack.Stack(signed, [])
    try:
        print(f"database {stack.database}, logs in {stack.log_dir}; {args.webhooks} webhooks, "
              f"{args.noops} no-ops per drain\n", flush=True)
        raw = raw_durable_rate(stack, signed, args.raw_seconds, args.connections)
        print(f"raw durable max       {raw:8.0f} req/s     (wrk, {args.connections} connections)", flush=True)
        before, before_cpu = noop_rate(stack, args.noops)
        print(f"no-op drain           {before:8.0f} tasks/s   (worker CPU {before_cpu:5.2f} ms/task)", flush=True)
        recorded, recorded_cpu = noop_rate(stack, args.noops, recorded=True)
        print(f"no-op with a tenant   {recorded:8.0f} tasks/s   (worker CPU {recorded_cpu:5.2f} ms/task: "
              "Hookline's task signals, a task_runs row each; not the yardstick)", flush=True)
        cpu = (stack.ingress_cpu_seconds(), stack.worker_cpu_seconds(), bench_stack.postgres_cpu_seconds())
        started = time.time()
        if args.sender == "wrk":
            accepted = stack.flood(first=0, seconds=args.e2e_seconds, connections=args.connections).accepted
        else:
            accepted = asyncio.run(bench_stack.send_all("127.0.0.1", stack.server.port, items, args.connections))
        answered = time.time() - started
        rows = stack.wait_processed(bench_stack.ingress_bench.LOCATION_ID, accepted, started)
        spent = (stack.ingress_cpu_seconds(), stack.worker_cpu_seconds(), bench_stack.postgres_cpu_seconds())
        ingress_cpu, event_cpu, postgres_cpu = ((now - then) / len(rows) * 1000 for now, then in zip(spent, cpu, strict=True))
        end_to_end = len(rows) / (rows[-1][1] - started)
        print(f"end to end            {end_to_end:8.0f} webhooks/s  ({accepted} accepted, answered at "
              f"{accepted / answered:.0f}/s, the last row {rows[-1][1] - started:.1f} s after the first POST)\n"
              f"  CPU per event: ingress {ingress_cpu:.2f} ms, worker {event_cpu:.2f} ms, PostgreSQL {postgres_cpu:.2f} ms",
              flush=True)
        after, after_cpu = noop_rate(stack, args.noops)
        print(f"no-op drain again     {after:8.0f} tasks/s   (worker CPU {after_cpu:5.2f} ms/task)")
        raw_after = raw_durable_rate(stack, signed, args.raw_seconds, args.connections)
        print(f"raw durable max again {raw_after:8.0f} req/s\n")
        print(f"end to end / no-op drain (mean of the two): {end_to_end / ((before + after) / 2):.2f}x")
        ratio = end_to_end / ((raw + raw_after) / 2)
        print(f"end to end / raw durable max (mean of the two): {ratio:.2f}x  (target >= {TARGET}x)  "
              f"{'PASS' if ratio >= TARGET else 'MISS'}  [HOOKLINE_BATCH_SIZE={os.environ.get('HOOKLINE_BATCH_SIZE', 'default')}]")
    finally:
        stack.close()


if __name__ == "__main__":
    main()
