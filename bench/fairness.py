"""Fairness across tenants, end to end: one tenant's flood against four tenants posting steadily.

    uv run python bench/fairness.py [--flood-seconds 8] [--webhooks 120000] [--split-lanes]

A real ingress (uvicorn) and the Procfile's worker of ghl_sync (2 processes, no prefetch on Redis;
`--split-lanes`: as two workers, `--lanes main` and `--lanes bulk`, the latter at nice +10) on this machine
(bench/stack.py). Four phases, each on an empty queue:
  1. quiet:      tenants B–E each post one ContactCreate every 100 ms (Ed25519-signed live);
  2. flood only: tenant A's deliveries (Ed25519-signed ahead, bench/signed.py) POSTed by wrk at the
                 ingress's maximum for --flood-seconds, 32 connections, as raw durable is driven;
  3. both:       A's flood again while B–E keep posting every 100 ms, until A's flood has drained;
  4. flood only again (a later phase runs on bigger tables: the two bracket phase 3).
It prints B–E's webhook-to-row latency (client's send → the row's processed_at) p50/p95 without
and during the flood, whole and in parts: send → the row's received_at (the ingress);
received_at → processed_at (the workers' part), itself split at the task run's start
(task_runs.started_at): publish and queue ("to a worker"), then the task up to its transaction.
And A's drain rate (events / (last processed - first POST)) with B–E against the mean of its two
runs alone. `processed_at` is the worker transaction's start, a millisecond or so before its
commit. Until 2026-12-07 A's flood was POSTed by this process, which took CPU from the two cores
the servers share. Figures on this 2-core machine are noisy: compare within one run. It asserts nothing."""

from __future__ import annotations

import argparse
import asyncio
import time

import loadgen
import stack as bench_stack
from signed import signed_requests

PARTS = ("whole", "ingress", "workers", "to a worker", "in the task")
QUIET = ["loc-bench-b", "loc-bench-c", "loc-bench-d", "loc-bench-e"]
FLOODER = "loc-bench"  # bench/signed.py's deliveries are signed for this location


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--flood-seconds", type=int, default=8, help="how long tenant A floods, through wrk (8)")
    parser.add_argument("--webhooks", type=int, default=120_000,
                        help="distinct signed deliveries for A's two floods (120000; it stops if wrk would need more)")
    parser.add_argument("--quiet-seconds", type=float, default=10, help="length of the quiet-only phase (10)")
    parser.add_argument("--burst", type=int, help="the ingress's HOOKLINE_FAIRNESS_BURST (default: the setting's, 200); "
                        "0 turns fairness off, to see the FIFO figures")
    parser.add_argument("--split-lanes", action="store_true",
                        help="run the Procfile's worker as two, `--lanes main` and `--lanes bulk` (docs/operations.md)")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between one quiet tenant's posts (0.1)")
    return parser.parse_args()


async def quiet_phase(stack: bench_stack.Stack, seconds: float, interval: float) -> dict[str, dict[int, float]]:
    stop = asyncio.Event()
    sent: dict[str, dict[int, float]] = {location: {} for location in QUIET}
    posters = [asyncio.create_task(bench_stack.post_every(stack, location, interval, stop, sent[location]))
               for location in QUIET]
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*posters)
    return sent


async def flood_phase(stack: bench_stack.Stack, first: int, seconds: int, *, with_quiet: bool,
                      interval: float) -> tuple[float, loadgen.Run, list[tuple[int, float]], dict[str, dict[int, float]]]:
    """A's flood from signed delivery `first` on (and B–E's posts until it drained): A's first POST
    time, wrk's run, A's processed rows, B–E's sends."""
    stop = asyncio.Event()
    sent: dict[str, dict[int, float]] = {location: {} for location in QUIET}
    posters = [asyncio.create_task(bench_stack.post_every(stack, location, interval, stop, sent[location]))
               for location in (QUIET if with_quiet else [])]
    started = time.time()
    run = await asyncio.to_thread(stack.flood, first=first, seconds=seconds)
    rows = await asyncio.to_thread(stack.wait_processed, FLOODER, run.accepted, started)
    stop.set()
    await asyncio.gather(*posters)
    return started, run, rows, sent


def latencies(stack: bench_stack.Stack, sent: dict[str, dict[int, float]]) -> dict[str, list[float]]:
    """B–E's latencies: whole (send → processed_at), the ingress's part (send → the row's received_at),
    the workers' (received_at → processed_at), and that split at the task run's start (PARTS)."""
    times: dict[str, list[float]] = {part: [] for part in PARTS}
    for location, sends in sent.items():
        since = min(sends.values(), default=0)
        done = dict(stack.wait_processed(location, len(sends), since))
        received = stack.received(location, since)
        started = stack.started(location, since)
        for event_id, moment in sends.items():
            times["whole"].append(done[event_id] - moment)
            times["ingress"].append(received[event_id] - moment)
            times["workers"].append(done[event_id] - received[event_id])
            if event_id in started:  # carried alone (a quiet tenant's event almost always is)
                times["to a worker"].append(started[event_id] - received[event_id])
                times["in the task"].append(done[event_id] - started[event_id])
    return times


def main() -> None:
    args = parse_args()
    signed = signed_requests(args.webhooks)
    settings = {} if args.burst is None else {"HOOKLINE_FAIRNESS_BURST": str(args.burst)}
    stack = bench_stack.Stack(signed, QUIET, settings=settings, split_lanes=args.split_lanes)
    try:
        burst = "default (200)" if args.burst is None else args.burst
        print(f"database {stack.database}, logs in {stack.log_dir}; A floods for {args.flood_seconds} s through wrk, "
              f"fairness burst {burst}, B–E one webhook each every {args.interval * 1000:.0f} ms; workers "
              f"{', '.join(name for name, *_ in stack.worker_commands)}\n", flush=True)
        quiet = latencies(stack, asyncio.run(quiet_phase(stack, args.quiet_seconds, args.interval)))
        print(f"quiet only       B–E {len(quiet['whole'])} webhooks", flush=True)
        first = 0

        def flood(with_quiet: bool) -> tuple[float, int, dict[str, dict[int, float]]]:
            nonlocal first
            started, run, rows, sent = asyncio.run(flood_phase(stack, first, args.flood_seconds, with_quiet=with_quiet,
                                                               interval=args.interval))
            first = run.next_index
            return len(rows) / (rows[-1][1] - started), len(rows), sent

        before, count, _ = flood(with_quiet=False)
        print(f"flood only       A {count} webhooks, {before:.0f}/s", flush=True)
        mixed_rate, count, sent = flood(with_quiet=True)
        during = latencies(stack, sent)
        print(f"flood + B–E      A {count} webhooks, {mixed_rate:.0f}/s; B–E {len(during['whole'])} webhooks", flush=True)
        # Once more after: a later phase runs on bigger tables, with autovacuum about; the mean of the
        # two "alone" runs brackets the mixed one.
        after, count, _ = flood(with_quiet=False)
        alone_rate = (before + after) / 2
        print(f"flood only again A {count} webhooks, {after:.0f}/s\n")

        print(f"{'':40} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}")
        for part in PARTS:
            for label, figures in (("no flood", quiet), ("during A's flood", during)):
                values = figures[part]
                print(f"{f'B–E {part}, {label}':40} {bench_stack.percentile(values, 0.5) * 1000:9.0f} "
                      f"{bench_stack.percentile(values, 0.95) * 1000:9.0f} {max(values, default=0) * 1000:9.0f}")
        ratio = bench_stack.percentile(during["whole"], 0.95) / bench_stack.percentile(quiet["whole"], 0.95)
        print(f"\nB–E p95 during the flood / without: {ratio:.2f}x  (target <= 1.5x)  {'PASS' if ratio <= 1.5 else 'MISS'}")
        print(f"\nA's drain rate: {mixed_rate:.0f} webhooks/s with B–E posting, {alone_rate:.0f}/s alone (mean of two) "
              f"({mixed_rate / alone_rate:.2f}x; target >= 0.9x)  {'PASS' if mixed_rate / alone_rate >= 0.9 else 'MISS'}")
    finally:
        stack.close()


if __name__ == "__main__":
    main()
